"""E5S1 reader and its SentencePiece-unigram tokenizer, on small E5S1 files the tests write."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from hubcore.formats.e5s1 import DTYPE_F32, DTYPE_Q4_0, E5S1FormatError, dequantize_q4_0, read_e5s1
from hubcore.formats.sentencepiece_unigram import METASPACE, UnigramTokenizer

PIECES = ["<s>", "<pad>", "</s>", "<unk>", METASPACE, METASPACE + "ab", "a", "b", "ab", "c", "中", "文", "中文", "A"]
SCORES = [0, 0, 0, 0, -1.0, -2.0, -3.0, -3.0, -2.5, -4.0, -3.0, -3.0, -1.5, -2.0]
NORMALISATION = {0xFF21: (0x41,), 0x3000: (0x20,), 0x200B: ()}  # full-width A, ideographic space, a dropped char


def q4_block(scale: float, nibbles: list[int]) -> bytes:
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return np.float16(scale).tobytes() + packed


def write_e5s1(path, tensors: list[tuple[str, int, int, bytes]] | None = None, pieces=PIECES, scores=SCORES) -> bytes:
    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4").tobytes()
    norm = b"".join(struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *out)
                    for cp, out in NORMALISATION.items())
    head = b"E5S1" + struct.pack("<I7ifi", 1, 32, 1, 1, 64, len(pieces), 8, 2, 1e-12, 32)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offsets
    head += np.asarray(scores, "<f4").tobytes() + blob + struct.pack("<iI", len(NORMALISATION), len(norm)) + norm
    if tensors is None:
        tensors = [("w", DTYPE_Q4_0, 32, q4_block(0.5, list(range(16)) * 2)),
                   ("b", DTYPE_F32, 3, np.asarray([1.0, -2.0, 3.5], "<f4").tobytes())]
    directory = struct.pack("<i", len(tensors))
    entries = [struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, 0, len(data))
               for name, dtype, count, data in tensors]
    offset = len(head) + len(directory) + sum(len(e) for e in entries)
    body = b""
    for (name, dtype, count, data), entry in zip(tensors, entries):
        directory += entry[:-16] + struct.pack("<QQ", offset + len(body), len(data))
        body += data
    raw = head + directory + body
    path.write_bytes(raw)
    return raw


def test_reads_header_vocab_and_tensors(tmp_path):
    write_e5s1(tmp_path / "m.bin")
    f = read_e5s1(tmp_path / "m.bin")
    assert (f.config.hidden, f.config.heads, f.config.ffn, f.config.vocab) == (32, 1, 64, len(PIECES))
    assert f.vocab.pieces == PIECES and f.vocab.unk == 3 and f.vocab.normalisation[0x200B] == ()
    np.testing.assert_array_equal(f.array("b"), [1.0, -2.0, 3.5])
    expected = (np.array(list(range(16)) * 2, np.float32) - 8) * 0.5
    np.testing.assert_array_equal(f.array("w"), expected)


def test_q4_0_nibble_order_low_then_high():
    nibbles = list(range(16)) + [15 - j for j in range(16)]
    out = dequantize_q4_0(np.frombuffer(q4_block(2.0, nibbles), np.uint8))
    np.testing.assert_array_equal(out, (np.array(nibbles, np.float32) - 8) * 2.0)


def test_every_truncation_is_a_clear_error_naming_the_file(tmp_path):
    raw = write_e5s1(tmp_path / "whole.bin")
    cut = tmp_path / "cut.bin"
    for n in range(0, len(raw), 7):
        cut.write_bytes(raw[:n])
        with pytest.raises(E5S1FormatError, match="cut.bin"):
            read_e5s1(cut)


def test_wrong_magic_and_lying_counts(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(E5S1FormatError, match="not an E5S1 model file"):
        read_e5s1(bad)
    raw = bytearray(write_e5s1(bad))
    raw[44:48] = struct.pack("<i", 2**31 - 1)  # piece count far beyond what the file can hold
    bad.write_bytes(bytes(raw))
    with pytest.raises(E5S1FormatError, match="piece count"):
        read_e5s1(bad)
    write_e5s1(bad, tensors=[("w", DTYPE_Q4_0, 32 * 1000, q4_block(1.0, [8] * 32))])
    with pytest.raises(E5S1FormatError, match="truncated or damaged"):
        read_e5s1(bad)


@pytest.fixture
def tok(tmp_path) -> UnigramTokenizer:
    write_e5s1(tmp_path / "m.bin")
    return UnigramTokenizer(read_e5s1(tmp_path / "m.bin").vocab)


def test_viterbi_takes_the_best_scoring_split(tok):
    # "▁ab" (-2.0) beats "▁" + "ab" (-3.5) and "▁" + "a" + "b" (-7.0)
    assert tok.content_ids("ab", 100) == [5]
    assert tok.content_ids("中文", 100) == [4, 12]
    assert tok.encode("ab") == [0, 5, 2]


def test_unknown_characters_fall_back_one_each(tok):
    assert tok.content_ids("😀x", 100) == [4, 3, 3]


def test_full_width_spaces_and_dropped_characters_are_normalised(tok):
    assert tok.normalise("Ａ\u3000\u200bab") == METASPACE + "A" + METASPACE + "ab"
    assert tok.content_ids("Ａ  ab", 100) == tok.content_ids("A ab", 100) == [4, 13, 5]


def test_empty_text_is_a_lone_metaspace(tok):
    assert tok.encode("") == [0, 4, 2]


def test_long_text_is_cut_to_512_positions(tok):
    ids = tok.encode("中" * 5000)
    assert len(ids) == 512 and ids[0] == 0 and ids[-1] == 2 and ids[1:3] == [4, 10]
