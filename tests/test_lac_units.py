"""The lac module's pure-Python parts, on small hand-made dictionaries (no paddle, no artifacts).

These pin the LAC 2.1.2 algorithm facts our own code re-implements: the pre-segmentation scores,
the word/char id mix, label decoding and the user dictionary rules.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from hubcore.errors import InputError
from hubmod_lac import inputs
from hubmod_lac.batching import plan_batches
from hubmod_lac.presegment import PreSegmenter
from hubmod_lac.tagging import max_per_word, spread_labels, spread_values, words_and_tags
from hubmod_lac.user_dict import UserDict, parse_item
from hubmod_lac.vocab import Vocabulary, read_pairs


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# -- pre-segmentation -------------------------------------------------------------------------------
def test_presegment_prefers_longer_words_by_length_not_count(tmp_path: Path) -> None:
    # Scores are log(len(word)) - log(total), so a word of 3 beats 2 + 1 even with a tiny count.
    seg = PreSegmenter(write(tmp_path / "d.dic", ["高科 1000000", "技 1000000", "高科技 1", "公司 5"]))
    assert seg.cut("高科技公司") == ["高科技", "公司"]


def test_presegment_single_characters_and_glued_ascii(tmp_path: Path) -> None:
    seg = PreSegmenter(write(tmp_path / "d.dic", ["分词 10", "工具 10"]))
    # Lone ASCII letters/digits are glued back together; other characters stay alone.
    assert seg.cut("LAC是个分词工具") == ["LAC", "是", "个", "分词", "工具"]
    assert seg.cut("a1 b2！Ｃ") == ["a1", " ", "b2", "！", "Ｃ"]
    assert seg.cut("") == []


def test_presegment_prefix_entries_do_not_count_as_words(tmp_path: Path) -> None:
    # "高" is only a prefix of "高科技" here: it must not be taken as a two-character path.
    seg = PreSegmenter(write(tmp_path / "d.dic", ["高科技 3"]))
    assert seg.cut("高科") == ["高", "科"]
    assert seg.cut("高科技高") == ["高科技", "高"]


# -- vocabulary ---------------------------------------------------------------------------------------
@pytest.fixture
def vocab(tmp_path: Path) -> Vocabulary:
    conf = tmp_path / "conf"
    conf.mkdir()
    write(conf / "word.dic", ["0\t ", "1\tA", "2\t万", "3\t工具", "4\t具", "5\tOOV"])
    write(conf / "tag.dic", ["0\tn-B", "1\tn-I", "2\tnr-B", "2\tPER-B", "3\tO"])
    write(conf / "q2b.dic", ["Ａ\tA", "萬\t万", "\u3000\t "])
    return Vocabulary.load(conf)


def test_vocabulary_reads_space_entry_and_last_label_wins(vocab: Vocabulary) -> None:
    assert vocab.word_ids[" "] == 0  # only the newline is stripped from dictionary lines
    assert vocab.oov_id == 5
    assert vocab.labels[2] == "PER-B"  # nr-B and PER-B share an id: the later line wins


def test_vocabulary_normalises_characters_and_maps_unknown_to_oov(vocab: Vocabulary) -> None:
    assert vocab.char_ids("Ａ萬\u3000?") == [1, 2, 0, 5]


def test_vocabulary_mixed_ids_use_whole_words_only_when_known(vocab: Vocabulary) -> None:
    ids, spans = vocab.mixed_ids(["工具", "萬", "具A", ""])
    assert ids == [3, 2, 4, 1]
    assert spans == [2, 1, 1, 1]


def test_read_pairs_skips_malformed_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "x.dic", ["a\tb", "only-one-field", "a\tb\tc", "c\td"])
    assert read_pairs(path) == [("a", "b"), ("c", "d")]


# -- label decoding ------------------------------------------------------------------------------------
def test_spread_labels_continues_multi_character_ids() -> None:
    assert spread_labels(["ORG-B", "v-B", "O"], [2, 1, 3]) == ["ORG-B", "ORG-I", "v-B", "O", "-I", "-I"]
    assert spread_values([3, 0], [2, 1]) == [3, 3, 0]


def test_words_take_the_tag_of_their_last_character() -> None:
    words, tags = words_and_tags("百度是公司", ["ORG-B", "ORG-I", "v-B", "n-B", "m-I"])
    assert words == ["百度", "是", "公司"]
    assert tags == ["ORG", "v", "m"]


def test_seg_labels_start_words_at_b_and_s() -> None:
    words, tags = words_and_tags("我爱北京", ["-S", "-S", "-B", "-E"])
    assert words == ["我", "爱", "北京"] and tags == ["", "", ""]


def test_o_label_starts_the_first_word_and_continues_others() -> None:
    assert words_and_tags("ab北", ["O", "O", "n-B"]) == (["ab", "北"], ["", "n"])
    assert words_and_tags("北ab", ["n-B", "O", "O"]) == (["北ab"], [""])


def test_rank_is_the_maximum_over_each_word() -> None:
    assert max_per_word([1, 3, 0, 2, 2], ["n-B", "n-I", "v-B", "n-B", "n-I"]) == [3, 0, 2]


# -- user dictionary -----------------------------------------------------------------------------------
def test_parse_item_follows_lac_format() -> None:
    assert parse_item("春天/SEASON").tags == ("SEASON",)
    item = parse_item("花/n 开/v")
    assert (item.phrase, item.tags, item.ends) == ("花开", ("n", "v"), (1, 2))
    assert parse_item("落\t阳").ends == (1, 2)
    assert parse_item("a/b/c").tags == ("c",)  # the last slash separates the tag
    assert parse_item("/w").phrase == "/w"  # a leading slash is part of the word
    assert parse_item("好") is None and parse_item("   ") is None  # one untagged character changes nothing
    assert parse_item("好/a") is not None
    assert parse_item("花/n,开/v", sep=",").phrase == "花开"


def test_user_dict_rewrites_labels_like_lac() -> None:
    ud = UserDict()
    for line in ["春天/SEASON", "花/n 开/v", "秋天的风", "落 阳"]:
        assert ud.add(line)
    text = "春天的花开秋天的风"
    model = ["TIME-B", "TIME-I", "u-B", "v-B", "v-I", "TIME-B", "TIME-I", "u-B", "n-B"]
    labels = ud.apply(text, model)
    assert words_and_tags(text, labels) == (["春天", "的", "花", "开", "秋天的风"],
                                             ["SEASON", "u", "n", "v", "n"])
    assert model[3] == "v-B" and model[4] == "v-I"  # the input list is left alone
    text2 = "落阳下"
    assert words_and_tags(text2, ud.apply(text2, ["vn-B", "vn-I", "f-I"])) == (["落", "阳", "下"], ["vn", "vn", "f"])


def test_user_dict_longest_match_and_overlaps() -> None:
    ud = UserDict()
    ud.add("ab/X")
    ud.add("abc/Y")
    ud.add("cd/Z")
    # Each item reaching past the previous match is applied in turn, so at one position the
    # longest item wins, and of two overlapping items the later one.
    assert ud.matches("abcd") == [(0, 2), (0, 3), (2, 4)]
    labels = ud.apply("abcd", ["n-B", "n-I", "n-I", "n-I"])
    assert words_and_tags("abcd", labels) == (["ab", "cd"], ["Y", "Z"])
    assert ud.matches("xxab") == [(2, 4)]
    assert ud.matches("") == []


def test_user_dict_from_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="user_dict"):
        UserDict.from_file(tmp_path / "missing.txt", argument="user_dict")
    bad = tmp_path / "gbk.txt"
    bad.write_bytes("春天/SEASON\n".encode("gbk"))
    with pytest.raises(InputError, match="UTF-8"):
        UserDict.from_file(bad)
    with pytest.raises(InputError, match="dict_path"):
        UserDict.from_file(123, argument="dict_path")  # type: ignore[arg-type]


# -- batching and input checks ------------------------------------------------------------------------
def test_plan_batches_groups_by_length_and_respects_limits() -> None:
    lengths = [10, 1, 10_000, 5, 3, 0]
    plans = plan_batches(lengths, batch_size=2, max_padded=1000)
    assert sorted(i for p in plans for i in p) == list(range(6))
    assert all(len(p) <= 2 for p in plans)
    assert [2] in plans  # the long line runs alone
    for plan in plans:
        assert len(plan) == 1 or len(plan) * max(lengths[i] for i in plan) <= 1000


@pytest.mark.parametrize("value, message", [
    (None, "text: expected a string or a list of strings, got NoneType"),
    (3, "got int"),
    (b"abc", "decode it first"),
    (["ok", 5], r"text\[1\]: expected a string, got int"),
    (["ok", ["nested"]], r"text\[1\]: expected a string, got list"),
    (["ok", b"x"], r"text\[1\].*decode it first"),
])
def test_bad_text_names_the_argument(value: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        inputs.check_text_or_texts(value, "text")


def test_other_checks() -> None:
    for bad in (0, -1, True, 2.5, "8"):
        with pytest.raises(InputError, match="batch_size"):
            inputs.check_positive_int(bad, "batch_size", "sentences per call")
    with pytest.raises(InputError, match="return_tag"):
        inputs.check_bool(1, "return_tag")
    with pytest.raises(InputError, match="mode='cut'.*'lac', 'seg', 'rank'"):
        inputs.check_mode("cut")
