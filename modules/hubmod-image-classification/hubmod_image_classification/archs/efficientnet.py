"""EfficientNet B0-B7 and EfficientNet-Lite0, with TensorFlow's "same" padding.

Both follow the TF reference (tensorflow/tpu models/official/efficientnet): the B0 block list
scaled in width and depth by the compound coefficients; convolutions pad like TF's "SAME" (extra
pixel at the bottom/right for stride 2), so weights trained in TF (and ports of them) give the
same numbers. Lite variants drop squeeze-and-excitation, use ReLU6 instead of swish, and keep the
stem (32) and head (1280) widths fixed when scaling.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import paddle
from paddle import nn

from .base import ClassifierNet, linear_net

BN_EPSILON = 1e-3  # TF's batch-norm epsilon; weights ported from TF need it
BN_MOMENTUM = 0.99


@dataclass(frozen=True)
class Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    in_ch: int
    out_ch: int


B0_STAGES = (
    Stage(1, 3, 1, 1, 32, 16), Stage(2, 3, 2, 6, 16, 24), Stage(2, 5, 2, 6, 24, 40), Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112), Stage(4, 5, 2, 6, 112, 192), Stage(1, 3, 1, 6, 192, 320),
)

# variant -> (width multiplier, depth multiplier, dropout before the classifier)
COEFFICIENTS = {
    "b0": (1.0, 1.0, 0.2), "b1": (1.0, 1.1, 0.2), "b2": (1.1, 1.2, 0.3), "b3": (1.2, 1.4, 0.3),
    "b4": (1.4, 1.8, 0.4), "b5": (1.6, 2.2, 0.4), "b6": (1.8, 2.6, 0.5), "b7": (2.0, 3.1, 0.5),
    "lite0": (1.0, 1.0, 0.2),
}


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """Scale a channel count and round to a multiple of 8, never below 90% of the scaled value."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor) if rounded < 0.9 * scaled else int(rounded)


def round_repeats(repeats: int, depth: float) -> int:
    return int(math.ceil(depth * repeats))


def conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2D(in_ch, out_ch, kernel, stride, padding="SAME", groups=groups, bias_attr=False),
        nn.BatchNorm2D(out_ch, momentum=BN_MOMENTUM, epsilon=BN_EPSILON))


class MBConv(nn.Layer):
    """Inverted residual: 1x1 expand, depthwise kxk, optional squeeze-excite, 1x1 project."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int, se: bool, act: type) -> None:
        super().__init__()
        mid = in_ch * expand
        self.expand = nn.Sequential(conv_bn(in_ch, mid, 1), act()) if expand != 1 else nn.Identity()
        self.depthwise = nn.Sequential(conv_bn(mid, mid, kernel, stride, groups=mid), act())
        if se:
            squeezed = max(1, int(in_ch * 0.25))
            self.se_reduce = nn.Conv2D(mid, squeezed, 1)
            self.se_expand = nn.Conv2D(squeezed, mid, 1)
            self.se_act = act()
        self.has_se = se
        self.project = conv_bn(mid, out_ch, 1)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        y = self.depthwise(self.expand(x))
        if self.has_se:
            gate = nn.functional.adaptive_avg_pool2d(y, 1)
            y = y * nn.functional.sigmoid(self.se_expand(self.se_act(self.se_reduce(gate))))
        y = self.project(y)
        # Stochastic depth (drop-connect) only matters when training from scratch; inference adds x.
        return x + y if self.residual else y


class EfficientNetBody(nn.Layer):
    def __init__(self, variant: str) -> None:
        super().__init__()
        width, depth, _ = COEFFICIENTS[variant]
        lite = variant.startswith("lite")
        act = nn.ReLU6 if lite else nn.Swish
        stem_ch = 32 if lite else round_filters(32, width)
        self.stem = nn.Sequential(conv_bn(3, stem_ch, 3, 2), act())
        blocks, in_ch = [], stem_ch
        for i, stage in enumerate(B0_STAGES):
            out_ch = round_filters(stage.out_ch, width)
            # Lite keeps the first and last stages at one block each when scaling depth.
            repeats = stage.repeats if lite and i in (0, len(B0_STAGES) - 1) else round_repeats(stage.repeats, depth)
            for j in range(repeats):
                blocks.append(MBConv(in_ch, out_ch, stage.kernel, stage.stride if j == 0 else 1, stage.expand,
                                     se=not lite, act=act))
                in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = 1280 if lite else round_filters(1280, width)
        self.head = nn.Sequential(conv_bn(in_ch, self.out_channels, 1), act())
        self.pool = nn.AdaptiveAvgPool2D(1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.flatten(self.pool(self.head(self.blocks(self.stem(x)))), 1)


def _efficientnet(variant: str, num_classes: int) -> ClassifierNet:
    body = EfficientNetBody(variant)
    return linear_net(body, body.out_channels, num_classes, dropout=COEFFICIENTS[variant][2])


def efficientnet_lite0(num_classes: int) -> ClassifierNet:
    return _efficientnet("lite0", num_classes)


def efficientnet_b0(num_classes: int) -> ClassifierNet:
    return _efficientnet("b0", num_classes)


def efficientnet_b1(num_classes: int) -> ClassifierNet:
    return _efficientnet("b1", num_classes)


def efficientnet_b2(num_classes: int) -> ClassifierNet:
    return _efficientnet("b2", num_classes)


def efficientnet_b3(num_classes: int) -> ClassifierNet:
    return _efficientnet("b3", num_classes)


def efficientnet_b4(num_classes: int) -> ClassifierNet:
    return _efficientnet("b4", num_classes)


def efficientnet_b5(num_classes: int) -> ClassifierNet:
    return _efficientnet("b5", num_classes)


def efficientnet_b6(num_classes: int) -> ClassifierNet:
    return _efficientnet("b6", num_classes)


def efficientnet_b7(num_classes: int) -> ClassifierNet:
    return _efficientnet("b7", num_classes)
