"""The lac module through the hub, with the real LAC 2.1.2 weights (fetched into $HUB_HOME).

Expected outputs below are LAC's own documentation (its README and PyPI page), not our output.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import hubcore as hub
from hubcore.errors import InputError

LAC_SHA256 = "22fcde0d5082d2044205ea6f6a7a9cd1f0d63e7b21b2dd5c9c73f27e7c0a3ef1"
DOCUMENTED = {
    "LAC是个优秀的分词工具": (["LAC", "是", "个", "优秀", "的", "分词", "工具"], ["nz", "v", "q", "a", "u", "n", "n"],
                       [3, 0, 0, 2, 0, 3, 1]),
    "百度是一家高科技公司": (["百度", "是", "一家", "高科技", "公司"], ["ORG", "v", "m", "n", "n"], [3, 0, 2, 3, 1]),
}
SPRING = "春天的花开秋天的风以及冬天的落阳"
SPRING_DICT = ["春天/SEASON", "花/n 开/v", "秋天的风", "落 阳"]


@pytest.fixture(scope="module")
def lac():
    module = hub.Module(name="lac")
    yield module


@pytest.fixture
def fresh_lac(lac):
    """The shared lac module, with its user dictionary removed after the test."""
    yield lac
    lac.del_user_dict()


@pytest.fixture(scope="module")
def rank():
    return hub.Module(name="lac", mode="rank")


@pytest.fixture
def spring_dict(tmp_path: Path) -> Path:
    path = tmp_path / "user.dict"
    path.write_text("\n".join(SPRING_DICT) + "\n", encoding="utf-8")
    return path


# -- what LAC documents ----------------------------------------------------------------------------
def test_documented_lac_output(lac) -> None:
    texts = list(DOCUMENTED)
    results = lac.cut(texts)
    for text, result in zip(texts, results):
        words, tags, _ = DOCUMENTED[text]
        assert result == {"word": words, "tag": tags}
        assert lac.cut(text) == words


def test_documented_rank_output(rank) -> None:
    for text, result in zip(DOCUMENTED, rank.cut(list(DOCUMENTED))):
        words, tags, ranks = DOCUMENTED[text]
        assert result == {"word": words, "tag": tags, "rank": ranks}


def test_documented_seg_output_and_user_dict_as_init_arg(spring_dict: Path) -> None:
    seg = hub.Module(name="lac", mode="seg", user_dict=str(spring_dict))
    results = seg.cut(list(DOCUMENTED) + [SPRING])
    assert [r["word"] for r in results[:2]] == [v[0] for v in DOCUMENTED.values()]
    assert all(set(r) == {"word"} for r in results)  # the seg model has no tags
    assert results[2]["word"] == ["春天", "的", "花", "开", "秋天的风", "以及", "冬天", "的", "落", "阳"]
    seg.del_user_dict()
    assert seg.cut(SPRING) == ["春天", "的", "花开", "秋天", "的", "风", "以及", "冬天", "的", "落阳"]


# -- PaddleHub's shapes ---------------------------------------------------------------------------------
def test_paddlehub_result_shapes(lac) -> None:
    text = "百度是一家高科技公司"
    words, tags, _ = DOCUMENTED[text]
    assert lac.cut(text) == words  # a str gives that sentence's words
    assert lac.cut(text=[text, ""]) == [{"word": words, "tag": tags}, {"word": [], "tag": []}]
    assert lac.cut([text], return_tag=False) == [{"word": words}]
    assert lac.cut([]) == []
    assert lac.lexical_analysis(texts=[text]) == [{"word": words, "tag": tags}]
    assert lac.lexical_analysis(data={"text": [text]}, return_tag=False) == [{"word": words}]
    assert lac.predict([text]) == lac.cut([text])
    assert lac.cut((text,), batch_size=1, use_gpu=False) == [{"word": words, "tag": tags}]


def test_metadata_and_manifest(lac) -> None:
    assert lac.name == "lac" and lac.category == "nlp/lexical_analysis"
    assert lac.license == "Apache-2.0" and lac.pretrained
    specs = {a.name: a for a in lac.artifacts}
    assert set(specs) == {"lac_model", "seg_model", "rank_model"}
    for name, spec in specs.items():
        assert spec.source == "pypi:lac==2.1.2/LAC-2.1.2.tar.gz"
        assert spec.sha256 == LAC_SHA256 and spec.size == 64818010
        assert spec.member == f"LAC-2.1.2/LAC/{name}/"
    folder = lac.artifact("lac_model")
    assert (folder / "model" / "__model__").is_file() and (folder / "conf" / "word.dic").is_file()
    assert set(lac.get_tags()) >= {"n", "v", "PER", "LOC", "ORG", "TIME", "w", ""}


# -- user dictionary ------------------------------------------------------------------------------------
def test_user_dict_intervenes_like_lac_readme(fresh_lac, spring_dict: Path) -> None:
    before = fresh_lac.cut([SPRING])[0]
    assert before["word"] == ["春天", "的", "花开", "秋天", "的", "风", "以及", "冬天", "的", "落阳"]
    fresh_lac.set_user_dict(str(spring_dict))
    after = fresh_lac.cut([SPRING])[0]
    assert after["word"] == ["春天", "的", "花", "开", "秋天的风", "以及", "冬天", "的", "落", "阳"]
    assert after["tag"][:5] == ["SEASON", "u", "n", "v", before["tag"][5]]  # untagged items keep the model's tag
    assert after["tag"][-2:] == [before["tag"][-1]] * 2
    assert fresh_lac.cut(SPRING) == after["word"]
    fresh_lac.del_user_dict()
    assert fresh_lac.cut([SPRING])[0] == before


def test_add_word_and_separator(fresh_lac, tmp_path: Path) -> None:
    fresh_lac.add_word("高科技公司/ORG")
    assert fresh_lac.cut(["百度是一家高科技公司"])[0]["word"][-1] == "高科技公司"
    path = tmp_path / "sep.dict"
    path.write_text("百度|是\n", encoding="utf-8")
    fresh_lac.set_user_dict(path, sep="|")  # replaces the added word
    result = fresh_lac.cut(["百度是一家高科技公司"])[0]
    assert result["word"][:2] == ["百度", "是"] and result["word"][-1] == "公司"


def test_user_dict_in_rank_mode_keeps_ranks_aligned(rank, spring_dict: Path) -> None:
    rank.set_user_dict(spring_dict)
    try:
        result = rank.cut([SPRING])[0]
    finally:
        rank.del_user_dict()
    assert result["word"][:4] == ["春天", "的", "花", "开"]
    assert len(result["rank"]) == len(result["word"]) and set(result["rank"]) <= {0, 1, 2, 3}


# -- bad input ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, argument", [
    (lambda m: m.cut(None), "text"),
    (lambda m: m.cut(42), "text"),
    (lambda m: m.cut(b"\xe7\x99\xbe"), "text"),
    (lambda m: m.cut(["ok", ["nested"]]), r"text\[1\]"),
    (lambda m: m.cut(["ok", None]), r"text\[1\]"),
    (lambda m: m.cut(["ok"], batch_size=0), "batch_size"),
    (lambda m: m.cut(["ok"], return_tag="yes"), "return_tag"),
    (lambda m: m.lexical_analysis(texts="百度"), "texts"),
    (lambda m: m.lexical_analysis(texts=[1]), r"texts\[0\]"),
    (lambda m: m.lexical_analysis(), "texts="),
    (lambda m: m.lexical_analysis(data={"texts": ["x"]}), "data"),
    (lambda m: m.set_user_dict("/no/such/user.dict"), "dict_path"),
    (lambda m: m.set_user_dict(None), "dict_path"),
    (lambda m: m.add_word(b"x"), "word"),
    (lambda m: m.add_word("花/n 开/v", sep=""), "sep"),
])
def test_bad_input_raises_input_error_naming_the_argument(lac, call, argument: str) -> None:
    with pytest.raises(InputError, match=argument):
        call(lac)


def test_bad_init_args() -> None:
    with pytest.raises(InputError, match="mode='cut'"):
        hub.Module(name="lac", mode="cut")
    with pytest.raises(InputError, match="user_dict"):
        hub.Module(name="lac", user_dict="/no/such/user.dict")
    with pytest.raises(InputError, match="threads"):
        hub.Module(name="lac", threads=0)
    with pytest.raises(InputError, match="device"):
        hub.Module(name="lac", device="tpu")


def test_use_gpu(lac) -> None:
    from hubcore.inference import gpu_available

    if gpu_available():
        assert lac.cut(list(DOCUMENTED), use_gpu=True) == lac.cut(list(DOCUMENTED))
    else:
        # A caller's argument this machine cannot honour: an InputError naming it (a 422 over HTTP).
        with pytest.raises(InputError, match="use_gpu=True but this paddle sees no GPU"):
            lac.cut(["百度"], use_gpu=True)


# -- serving ----------------------------------------------------------------------------------------------
def test_serving_signature_batches_along_text(lac) -> None:
    sig = lac.default_signature
    assert sig.name == "cut" and sig.batch_input == "text"
    schema = sig.request_schema()
    assert schema["properties"]["text"]["type"] == "array"
    assert schema["properties"]["text"]["items"] == {"type": "string"}
    assert schema["required"] == ["text"]
    first = sig.bind({"text": ["百度是一家高科技公司"]}, remote=True)
    second = sig.bind({"text": ["LAC是个优秀的分词工具", ""], "return_tag": True}, remote=True)
    # What a server does with concurrent requests: one call on the concatenated lists, split back.
    merged = lac.cut(first["text"] + second["text"], return_tag=True)
    assert merged == lac.cut(**first) + lac.cut(**second)
    with pytest.raises(InputError, match="cut.text"):
        sig.bind({"text": "百度"}, remote=True)


def test_package_import_does_not_import_paddle() -> None:
    code = "import sys, hubmod_lac, hubmod_lac.module; sys.exit('paddle' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_export_gives_a_loadable_paddle_inference_model(lac, tmp_path: Path) -> None:
    from hubmod_lac.analyzer import LacAnalyzer

    out = lac.export(tmp_path / "exported")
    assert (out / "lac_model" / "model" / "__model__").is_file()
    reloaded = LacAnalyzer(out / "lac_model").analyze(list(DOCUMENTED))
    assert [(s.words, s.tags) for s in reloaded] == [v[:2] for v in DOCUMENTED.values()]
    with pytest.raises(InputError, match="already exists"):
        lac.export(out)


def test_lac_conforms_to_the_hub_contract() -> None:
    from hubcore.conformance import assert_conformant

    report = assert_conformant("lac")
    assert report.status("predict") == "pass" and report.status("serving") == "pass"
