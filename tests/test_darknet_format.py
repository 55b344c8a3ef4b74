"""hubcore.formats.darknet: the cfg parser and the .weights reader, on files the tests write, and the
real YOLOv3-tiny release (from the hub's cache). Every refusal must name the file and what was expected."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hubcore.errors import ArtifactError
from hubcore.formats.darknet import (ConvWeights, expected_floats, parse_cfg, read_header, read_weights,
                                     write_weights)

SMALL_CFG = """[net]
width=32
height=32
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
filters=6
size=1
stride=1
pad=1
activation=linear

[route]
layers=-1,-3
"""


def small_convs(rng: np.random.Generator) -> list[ConvWeights]:
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    return [ConvWeights(0, f(4, 3, 3, 3), None, f(4), f(4), f(4), np.abs(f(4)) + 0.5),
            ConvWeights(2, f(6, 4, 1, 1), f(6))]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, list[ConvWeights]]:
    cfg = tmp_path / "small.cfg"
    cfg.write_text(SMALL_CFG)
    convs = small_convs(np.random.default_rng(0))
    return cfg, write_weights(tmp_path / "small.weights", convs), convs


def test_cfg_layers_channels_and_float_count(files):
    cfg, _, _ = files
    config = parse_cfg(cfg)
    assert [l.type for l in config.layers] == ["convolutional", "maxpool", "convolutional", "route"]
    assert config.channels == (4, 4, 6, 10)
    assert (config.width, config.height) == (32, 32)
    assert expected_floats(config) == 4 * (27 + 4) + 6 * (4 + 1)


@pytest.mark.parametrize("minor,header_bytes", [(1, 16), (2, 20)])
def test_weights_round_trip_both_header_versions(files, tmp_path, minor, header_bytes):
    cfg, _, convs = files
    path = write_weights(tmp_path / f"v{minor}.weights", convs, minor=minor, seen=12345)
    header, read = read_weights(path, parse_cfg(cfg))
    assert (header.major, header.minor, header.seen, header.size) == (0, minor, 12345, header_bytes)
    assert [c.layer for c in read] == [0, 2]
    for want, got in zip(convs, read):
        np.testing.assert_array_equal(want.weight, got.weight)
        for name in ("bias", "bn_scale", "bn_bias", "bn_mean", "bn_var"):
            a, b = getattr(want, name), getattr(got, name)
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)


def test_truncated_weights_name_file_and_counts(files):
    cfg, weights, _ = files
    data = weights.read_bytes()
    weights.write_bytes(data[:-40])
    with pytest.raises(ArtifactError) as err:
        read_weights(weights, parse_cfg(cfg))
    message = str(err.value)
    assert str(weights) in message and "truncated" in message and "154" in message and "144" in message


def test_weights_for_another_cfg_are_refused(files):
    cfg, weights, _ = files
    weights.write_bytes(weights.read_bytes() + np.zeros(6, "<f4").tobytes())
    with pytest.raises(ArtifactError, match="holds more than the cfg describes"):
        read_weights(weights, parse_cfg(cfg))


@pytest.mark.parametrize("content,expected", [
    (b"", "is empty"),
    (b"\x00" * 10, "shorter than"),
    (np.array([7777, 3, 0, 0], "<i4").tobytes() + b"\x00" * 64, "not a Darknet version"),
    (np.array([0, 2, 0], "<i4").tobytes() + b"\x00" * 8 + b"\x00" * 3, "whole number of float32"),
])
def test_corrupt_weights(files, content, expected):
    cfg, weights, _ = files
    weights.write_bytes(content)
    with pytest.raises(ArtifactError, match=expected) as err:
        read_weights(weights, parse_cfg(cfg))
    assert str(weights) in str(err.value)


def test_non_finite_values_are_corrupt(files, tmp_path):
    cfg, _, convs = files
    bad = [ConvWeights(0, convs[0].weight, None, convs[0].bn_scale, convs[0].bn_bias, convs[0].bn_mean,
                       np.full(4, np.nan, np.float32)), convs[1]]
    path = write_weights(tmp_path / "nan.weights", bad)
    with pytest.raises(ArtifactError, match="layer 0 holds NaN"):
        read_weights(path, parse_cfg(cfg))


@pytest.mark.parametrize("edit,expected", [
    (lambda t: t.replace("[route]", "[local]"), r"\[local\], which this reader does not support"),
    (lambda t: t.replace("layers=-1,-3", "layers=-1,7"), "refers to layers"),
    (lambda t: t.replace("[net]", "[convolutional]", 1), "first section must be \\[net\\]"),
    (lambda t: t.replace("filters=6", "filters=six"), "filters='six' is not an integer"),
    (lambda t: t.replace("activation=linear", "activation=gelu"), "activation='gelu' is not supported"),
    (lambda t: t.replace("size=1\n", "").replace("filters=6", "filters=6\nsize=0"), "must be positive"),
    (lambda t: t + "\nstray line\n", "neither a \\[section\\] nor key=value"),
])
def test_bad_cfg_names_file_and_line(tmp_path, edit, expected):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(edit(SMALL_CFG))
    with pytest.raises(ArtifactError, match=expected) as err:
        parse_cfg(cfg)
    assert str(cfg) in str(err.value)


def test_binary_file_as_cfg(tmp_path):
    path = tmp_path / "swapped.cfg"
    path.write_bytes(b"\xff\xfe\x00\x81" * 100)
    with pytest.raises(ArtifactError, match="not a text file"):
        parse_cfg(path)


def test_header_alone(tmp_path):
    header = read_header(np.array([0, 1, 0, 99], "<i4").tobytes(), "x.weights")
    assert (header.version, header.seen, header.size) == ("0.1.0", 99, 16)


def test_real_yolov3_tiny_release():
    """The official file: header v0.2.0 and exactly the floats its cfg asks for (8,858,734)."""
    import hubcore as hub

    module = hub.Module(name="yolov3_tiny_coco")
    config = parse_cfg(module.artifact("cfg"))
    assert expected_floats(config) == 8_858_734
    header, convs = read_weights(module.artifact("weights"), config)
    assert header.version == "0.2.0" and header.size == 20
    assert len(convs) == 13
    assert sum(c.weight.size for c in convs) == 8_845_488
