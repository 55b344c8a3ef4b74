"""Every classifier's parameter count equals the published count stated next to it.

Networks are built under paddle.LazyGuard: parameters get their shapes without being allocated or
initialised, so even the 144M-parameter VGG19 costs milliseconds and every architecture is checked.
"""
from __future__ import annotations

import pytest

from hubmod_image_classification.configs import CONFIGS


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_parameter_count_matches_reference(name: str) -> None:
    import paddle

    from hubmod_image_classification.archs import build
    from hubmod_image_classification.archs.base import count_parameters

    config = CONFIGS[name]
    with paddle.LazyGuard():
        net = build(config.arch, config.num_classes)
    count = count_parameters(net, grouped_convs=not config.reference_omits_grouped_convs)
    assert round(count / 1e6, 2) == config.reference_params_m, \
        f"{name}: {count:,} parameters, but {config.reference_params_m}M is published ({config.reference})"
    assert config.reference, f"{name}: state where the reference count is published"


def test_counts_exclude_batchnorm_statistics_but_include_frozen_parameters() -> None:
    import paddle.vision.models as pvm

    from hubmod_image_classification.archs.base import count_parameters

    net = pvm.resnet18()
    assert count_parameters(net) == 11_689_512  # torchvision's published resnet18 count
    for p in net.parameters():
        p.stop_gradient = True
    assert count_parameters(net) == 11_689_512


def test_paddleclas_counts_leave_out_grouped_conv_weights() -> None:
    # The rule behind reference_omits_grouped_convs, shown on networks whose full counts are known:
    # PaddleClas lists MobileNetV2 at 3.44M and ShuffleNetV2 at 2.26M (torchvision: 3.50M, 2.28M).
    import paddle

    from hubmod_image_classification.archs import build
    from hubmod_image_classification.archs.base import count_parameters

    for arch, full, paddleclas in [("mobilenet_v2", 3.50, 3.44), ("shufflenet_v2", 2.28, 2.26)]:
        with paddle.LazyGuard():
            net = build(arch, 1000)
        assert round(count_parameters(net) / 1e6, 2) == full
        assert round(count_parameters(net, grouped_convs=False) / 1e6, 2) == paddleclas


def test_readme_full_counts_match_the_networks() -> None:
    # The README's table shows each network's full count, also where the reference omits grouped convs.
    from pathlib import Path

    import paddle

    from hubmod_image_classification.archs import build
    from hubmod_image_classification.archs.base import count_parameters

    readme = (Path(__file__).resolve().parents[1] / "modules" / "hubmod-image-classification" / "README.md").read_text()
    for name, config in CONFIGS.items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}`"))
        listed = float(row.split("|")[4])
        with paddle.LazyGuard():
            full = count_parameters(build(config.arch, config.num_classes))
        assert round(full / 1e6, 2) == listed, f"{name}: README lists {listed}M, the network has {full:,}"


def test_feature_sizes_match_the_backbones() -> None:
    import numpy as np
    import paddle

    from hubmod_image_classification.archs import build

    for arch, size in [("mobilenet_v2", 1280), ("efficientnet_lite0", 1280), ("squeezenet1_1", 512),
                       ("mobilenet_v3_small", 1024)]:
        net = build(arch, 10)
        net.eval()
        assert net.feature_size == size
        with paddle.no_grad():
            out = net(paddle.to_tensor(np.zeros((2, 3, 64, 64), np.float32)))
        assert tuple(out.shape) == (2, 10), arch
