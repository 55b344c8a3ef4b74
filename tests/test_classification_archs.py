"""The hand-written architectures run, and run the same as exported inference programs.

paddle.vision's networks are paddle's own; the ones written here are checked end to end: eager
forward at a small input size, then export and paddle.inference (where the inference engine has
tripped on a network before: DPN's two paths, DarkNet's leaky ReLU).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def _net(arch: str, num_classes: int = 7):
    import paddle

    from hubmod_image_classification.archs import build

    paddle.seed(0)
    net = build(arch, num_classes)
    net.eval()
    return net


@pytest.mark.parametrize("arch, size", [("inception_v4", 96), ("xception71", 64), ("resnet50_vd", 64),
                                        ("se_resnext50_32x4d", 64), ("efficientnet_b0", 64)])
def test_eager_forward(arch: str, size: int) -> None:
    import paddle

    net = _net(arch)
    with paddle.no_grad():
        out = net(paddle.to_tensor(np.random.default_rng(0).random((2, 3, size, size), np.float32)))
    assert tuple(out.shape) == (2, 7) and np.isfinite(out.numpy()).all()


def _small_dpn():
    # DPN-107's code at a fraction of its width: exporting the full 87M-parameter net takes ~20 s here.
    import paddle

    from hubmod_image_classification.archs.base import linear_net
    from hubmod_image_classification.archs.dpn import DPNBody

    paddle.seed(0)
    body = DPNBody(stem=16, k_r=32, groups=4, blocks=(2, 3, 2, 2), increments=(4, 8, 8, 16))
    net = linear_net(body, body.out_channels, 7)
    net.eval()
    return net


@pytest.mark.parametrize("arch", ["dpn", "darknet53"])
def test_exported_program_matches_eager(arch: str, tmp_path: Path) -> None:
    import paddle

    from hubcore.inference import create_predictor, export_layer

    net = _small_dpn() if arch == "dpn" else _net(arch)
    x = np.random.default_rng(1).random((1, 3, 64, 64), np.float32)
    with paddle.no_grad():
        want = net(paddle.to_tensor(x)).numpy()
    folder = export_layer(net, [([None, 3, 64, 64], "float32", "image")], tmp_path / arch)
    got = create_predictor(folder, device="cpu").run(x)[0]
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got / scale, want / scale, atol=1e-4)
