"""The network options tools/train_senta.py can set (bigram embeddings, widths, max+mean pooling):
the tokenizer's bigram ids, the encoders with them, and weights files that carry them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import paddle
import pytest

import hubcore as hub
from hubcore.artifacts import provide_artifact
from hubcore.errors import InputError
from hubmod_senta import weights_file
from hubmod_senta.nets import SentimentNet, build_encoder
from hubmod_senta.tokenizer import PAD, UNK, CharTokenizer


def test_bigram_ids_are_left_and_right_neighbours() -> None:
    tokenizer = CharTokenizer(list("好差很"), max_len=4, bigrams=["很好", "好差"])
    # 很好差x: ids of 很 好 差 x; left bigrams -, 很好, 好差, 差x; right bigrams 很好, 好差, 差x, -
    assert tokenizer.ids("很好差x") == [(4, PAD, 2), (2, 2, 3), (3, 3, UNK), (UNK, UNK, PAD)]
    # bigrams are taken before truncation: the kept tail's first position still sees its left neighbour
    assert tokenizer.ids("很好差x很好") == [(4, PAD, 2), (2, 2, 3), (4, UNK, 2), (2, 2, PAD)]
    ids, lengths = tokenizer.batch(["好", "很好"])
    assert ids.shape == (2, 2, 3) and lengths.tolist() == [1, 2]
    assert ids[0].tolist() == [[2, PAD, PAD], [PAD, PAD, PAD]]
    assert tokenizer.bigram_vocab_size == 4 and CharTokenizer(list("好")).bigram_vocab_size == 0


def test_bigram_vocabulary_is_built_by_count_and_stored_as_code_points() -> None:
    built = CharTokenizer.build(["很好 很好", "很好吃", "好吃"], size=10, min_count=1, bigram_size=2, bigram_min_count=2)
    assert built.bigrams == ["很好", "好吃"]  # "好 " and " 很" hold whitespace: never bigrams
    restored = CharTokenizer.from_codepoints(built.codepoints(), 8, built.bigram_codepoints())
    assert restored.bigrams == built.bigrams and restored.chars == built.chars
    assert CharTokenizer.from_codepoints(built.codepoints(), 8, np.zeros((0, 2), np.uint32)).bigrams == []


@pytest.mark.parametrize("arch", ["bilstm", "gru", "cnn", "bow"])
def test_encoders_with_bigrams_ignore_padding(arch: str) -> None:
    tokenizer = CharTokenizer(list("好差很不"), max_len=16, bigrams=["很好", "不好", "好差"])
    paddle.seed(0)
    encoder = build_encoder(arch, tokenizer.vocab_size, bigram_vocab_size=tokenizer.bigram_vocab_size,
                            pooling="maxmean" if arch in ("bilstm", "gru") else "max", hidden=32, embedding=24)
    encoder.eval()
    ids, lengths = tokenizer.batch(["很好", "不好很差不好"])
    pooled = encoder(paddle.to_tensor(ids), paddle.to_tensor(lengths)).numpy()
    assert pooled.shape == (2, 96)
    alone_ids, alone_lengths = tokenizer.batch(["很好"])
    alone = encoder(paddle.to_tensor(alone_ids), paddle.to_tensor(alone_lengths)).numpy()
    np.testing.assert_allclose(pooled[:1], alone, atol=1e-5)


def test_unknown_pooling_is_refused() -> None:
    with pytest.raises(ValueError, match="pooling='mean'"):
        build_encoder("bilstm", 10, pooling="mean")


def _weights(path: Path, arch: str, network: dict) -> CharTokenizer:
    tokenizer = CharTokenizer(list("好差的很了不是"), max_len=32, bigrams=["很好", "不好", "很差"])
    paddle.seed(0)
    net = SentimentNet(build_encoder(arch, tokenizer.vocab_size, bigram_vocab_size=tokenizer.bigram_vocab_size,
                                     **network), 2)
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    weights_file.save(path, state, tokenizer.codepoints(), arch=arch, max_len=32, labels=["negative", "positive"],
                      bigrams=tokenizer.bigram_codepoints(), network=network)
    return tokenizer


def test_module_builds_the_network_its_weights_file_describes(tmp_hub_home: Path, tmp_path: Path) -> None:
    network = {"embedding": 24, "hidden": 16, "pooling": "maxmean"}
    _weights(tmp_path / "gru.safetensors", "gru", network)
    state, _, info = weights_file.load(tmp_path / "gru.safetensors")
    assert info["network"] == network and info["bigrams"].shape == (3, 2)
    assert state["backbone.bigram_embedding.weight"].shape == (5, 24)
    gru = hub.Module(name="senta_gru")
    provide_artifact("senta_gru", gru.version, gru.manifest().artifact("weights"), tmp_path / "gru.safetensors")
    results = gru.sentiment_classify(texts=["很好", "很差不好", "的"])
    assert [r["sentiment_key"] in ("negative", "positive") for r in results] == [True] * 3
    context = gru.context(trainable=False)
    ids, lengths = context.preprocess(["很好"])
    assert ids.shape == (1, 2, 3)
    assert list(context.backbone(paddle.to_tensor(ids), paddle.to_tensor(lengths)).shape) == [1, 96]


def test_weights_file_with_an_unknown_network_option_is_an_input_error(tmp_hub_home: Path, tmp_path: Path) -> None:
    _weights(tmp_path / "gru.safetensors", "gru", {"hidden": 16})
    # Rewrite the description as a later version might write it: an option this one lacks.
    state, codepoints, info = weights_file.load(tmp_path / "gru.safetensors")
    weights_file.save(tmp_path / "odd.safetensors", state, codepoints, arch="gru", max_len=32,
                      labels=["negative", "positive"], bigrams=info["bigrams"], network={"hidden": 16, "layers": 3})
    gru = hub.Module(name="senta_gru")
    provide_artifact("senta_gru", gru.version, gru.manifest().artifact("weights"), tmp_path / "odd.safetensors")
    with pytest.raises(InputError, match="cannot build"):
        gru.predict(["好"])
