"""The lac module on a varied corpus: pinned outputs of all three modes, plus invariants.

How the pins were produced: tests/data/lac_corpus.json was written once by this file's
`write_pins()` (run `.venv/bin/python tests/test_lac_corpus.py --write-pins`) from the module's
output with the real LAC 2.1.2 weights (paddlepaddle 3.3.1, CPU, oneDNN on), then read by hand:
the two sentences LAC documents match its documentation, Chinese text segments and tags as LAC
does, and text the model does not know (Arabic, Hangul, emoji, rare characters) gets the empty
tag of LAC's "O" label. The pins catch any later change in preprocessing, decoding or batching;
rewrite them only for a deliberate change, and review the diff.

The invariants hold for any input: the words of a sentence concatenate back to it, tags come from
the documented set, and results do not depend on how sentences are batched.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

PINS = Path(__file__).parent / "data" / "lac_corpus.json"
MODES = ("lac", "seg", "rank")

CORPUS = [
    # LAC's documented examples
    "LAC是个优秀的分词工具",
    "百度是一家高科技公司",
    "春天的花开秋天的风以及冬天的落阳",
    # ordinary Chinese: news, entities, times, reviews, classic ambiguities
    "今天是个好天气。",
    "国务院总理李克强在人民大会堂会见了来访的外国代表团",
    "2019年双十一天猫的成交额达到了2684亿元",
    "张三和李四一起去杭州西湖旅游",
    "北京大学的学生在图书馆里认真地复习功课",
    "马云创办了阿里巴巴集团",
    "中华人民共和国成立于1949年10月1日",
    "长江是中国最长的河流，全长约6300公里。",
    "这家餐厅的菜味道不错，就是价格有点贵。",
    "房间很干净，服务员态度也很好，下次还会再来",
    "深度学习模型在自然语言处理任务上取得了显著进展",
    "我爱北京天安门",
    "南京市长江大桥",
    "结婚的和尚未结婚的",
    "研究生命起源",
    "乒乓球拍卖完了",
    "2024年3月15日下午3点30分",
    "1990-01-01 12:00:00",
    # Chinese mixed with Latin letters and digits
    "苹果公司发布了新款iPhone 11手机，售价699美元起",
    "我在GitHub上看到了PaddlePaddle的LAC项目",
    "Python3.11和numpy1.26一起使用",
    "C++和C#都是编程语言",
    "COVID-19疫情期间，WHO发布了指南",
    "5G网络和AI技术",
    "电话号码是010-12345678，邮编100085",
    "3.1415926是圆周率的近似值，约等于22/7",
    "email: someone@example.com, 网址：https://www.baidu.com/s?wd=lac",
    "iPhone15ProMax",
    "ABC123def456",
    "Hello world! This is an English sentence.",
    # full-width characters and traditional characters (normalised by q2b.dic)
    "ＬＡＣ是个优秀的分词工具，售价１２３元！",
    "全角字符：ＡＢＣ\u3000ａｂｃ\u3000０１２３４５６７８９",
    "Ａ-Ｚ ａ-ｚ ＡＢＣＤＥＦＧ",
    "ａ",
    "請問從臺北車站到桃園國際機場怎麼走？",
    "萬事俱備，只欠東風",
    # punctuation
    "「你好」，『世界』！【注意】《红楼梦》是曹雪芹写的。",
    "他说：“我明天上午九点会准时到达会议室。”",
    "，，，！！！？？？",
    "……——～～",
    "!!!???...",
    "<html><body>网页</body></html>",
    '{"key": "值", "数字": 42}',
    "。",
    # emoji, other scripts, rare and invisible characters
    "今天天气真好😀我们去公园吧🌸🌸",
    "👨\u200d👩\u200d👧\u200d👦一家人在🏠里看📺",
    "日本語のテキストも混ざっています",
    "한국어 텍스트",
    "Ελληνικά και русский текст",
    "العربية",
    "café naïve résumé",
    "e\u0301 combining accent",
    "𠀀𠀁𠀂是扩展B区的汉字",
    "\u200b零宽空格\u200b",
    # empty, whitespace and control characters, repetitions, one character
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "\u3000\u3000",
    "第一行\n第二行",
    "中国\t北京\t上海",
    "喂喂喂，你好你好你好你好你好",
    "的的的的的的的的的的",
    "a",
    "1",
]


def long_line() -> str:
    """A 10,000-character line built from the corpus (so it mixes every kind of text above)."""
    line = ("".join(CORPUS) * 20)[:10_000]
    assert len(line) == 10_000
    return line


def digest(results: list) -> str:
    return hashlib.sha256(json.dumps(results, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def run_all(module) -> tuple[list[dict], list[dict]]:
    """(corpus results, [long line result]) in one batched call each."""
    return module.cut(CORPUS), module.cut([long_line()])


def write_pins() -> None:
    import hubcore as hub

    pins: dict = {"corpus": CORPUS, "modes": {}}
    for mode in MODES:
        corpus, long = run_all(hub.Module(name="lac", mode=mode))
        pins["modes"][mode] = {
            "corpus": corpus,
            "long_line": {"words": len(long[0]["word"]), "sha256": digest(long), "first_words": long[0]["word"][:20]},
        }
    PINS.parent.mkdir(parents=True, exist_ok=True)
    PINS.write_text(json.dumps(pins, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {PINS}")


@pytest.fixture(scope="module")
def pins() -> dict:
    assert PINS.is_file(), f"{PINS} is missing; produce it with `.venv/bin/python {__file__} --write-pins` and review it"
    data = json.loads(PINS.read_text(encoding="utf-8"))
    assert data["corpus"] == CORPUS, "CORPUS changed since the pins were written: rewrite them (see module docstring)"
    return data


@pytest.fixture(scope="module", params=MODES)
def analysed(request: pytest.FixtureRequest):
    """(mode, module, corpus results, long-line results): one module load and batched run per mode."""
    import hubcore as hub

    module = hub.Module(name="lac", mode=request.param)
    corpus, long = run_all(module)
    return request.param, module, corpus, long


def test_outputs_match_pins(analysed, pins: dict) -> None:
    mode, _, corpus, long = analysed
    pinned = pins["modes"][mode]
    for text, got, want in zip(CORPUS, corpus, pinned["corpus"]):
        assert got == want, f"mode {mode}: {text!r}"
    assert len(long[0]["word"]) == pinned["long_line"]["words"]
    assert long[0]["word"][:20] == pinned["long_line"]["first_words"]
    assert digest(long) == pinned["long_line"]["sha256"], f"mode {mode}: the 10,000-character line changed"


def test_words_concatenate_to_the_input(analysed) -> None:
    mode, _, corpus, long = analysed
    for text, result in zip(CORPUS + [long_line()], corpus + long):
        assert "".join(result["word"]) == text, f"mode {mode}: {text!r} -> {result['word']}"
        assert all(result["word"]), f"mode {mode}: empty word in {result['word']} for {text!r}"


def test_tags_and_ranks_are_well_formed(analysed) -> None:
    from hubmod_lac.tagset import RANKS, TAGS

    mode, _, corpus, long = analysed
    for result in corpus + long:
        if mode == "seg":
            assert set(result) == {"word"}
            continue
        assert len(result["tag"]) == len(result["word"])
        assert set(result["tag"]) <= set(TAGS), set(result["tag"]) - set(TAGS)
        if mode == "rank":
            assert len(result["rank"]) == len(result["word"])
            assert set(result["rank"]) <= set(RANKS)
    if mode != "seg":
        seen = {tag for r in corpus for tag in r["tag"]}
        # The corpus exercises entities and the "O" label, not only common tags.
        assert {"PER", "LOC", "ORG", "TIME", "n", "v", "w", ""} <= seen


def test_batching_does_not_change_results(analysed) -> None:
    mode, module, corpus, _ = analysed
    one_by_one = [module.cut([text], batch_size=1)[0] for text in CORPUS]
    assert one_by_one == corpus, f"mode {mode}"
    assert module.cut(CORPUS, batch_size=7) == corpus, f"mode {mode}"
    # A long line in the same call as short sentences (length grouping keeps this fast).
    mixed = module.cut(CORPUS[:5] + [long_line()] + CORPUS[5:10])
    assert mixed[:5] == corpus[:5] and mixed[6:] == corpus[5:10]


def test_str_input_gives_the_words_of_that_sentence(analysed) -> None:
    mode, module, corpus, _ = analysed
    assert module.cut(CORPUS[0]) == corpus[0]["word"]
    assert module.cut("") == []


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-pins"]:
        write_pins()
    else:
        sys.exit(f"usage: {sys.argv[0]} --write-pins   (then review the diff of {PINS})")
