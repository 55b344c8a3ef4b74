"""The ResNet family with the "bag of tricks" variants: ResNet-vd, ResNeXt-vd and SE-ResNeXt.

One configurable network covers them all:
  - stem "plain": one 7x7 convolution (He et al. 2016); "deep": three 3x3 convolutions (vd, "C" tweak)
    of widths deep_stem (32, 32, 64; SENet-154 uses 64, 64, 128);
  - avg_down: shortcuts that downsample do it with 2x2 average pooling before the 1x1 convolution
    (vd, "D" tweak) instead of a strided 1x1 convolution that drops three quarters of the input;
  - groups/base_width: ResNeXt cardinality and per-group width (64x4d: 64 groups of 4 channels at stage 1);
  - se_reduction: squeeze-and-excitation on every block's output (Hu et al. 2018).
"""
from __future__ import annotations

import paddle
from paddle import nn

from .base import ClassifierNet, linear_net


def conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers = [nn.Conv2D(in_ch, out_ch, kernel, stride, padding=(kernel - 1) // 2, groups=groups, bias_attr=False),
              nn.BatchNorm2D(out_ch)]
    if act:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Layer):
    """Rescale channels by a gate computed from their global average (two 1x1 convolutions)."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2D(1)
        self.reduce = nn.Conv2D(channels, channels // reduction, 1)
        self.expand = nn.Conv2D(channels // reduction, channels, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        gate = nn.functional.sigmoid(self.expand(nn.functional.relu(self.reduce(self.pool(x)))))
        return x * gate


class Bottleneck(nn.Layer):
    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int, groups: int, base_width: int, se_reduction: int,
                 avg_down: bool) -> None:
        super().__init__()
        width = int(planes * base_width / 64) * groups
        out_ch = planes * self.expansion
        self.conv1 = conv_bn(in_ch, width, 1)
        self.conv2 = conv_bn(width, width, 3, stride, groups=groups)
        self.conv3 = conv_bn(width, out_ch, 1, act=False)
        self.se = SqueezeExcite(out_ch, se_reduction) if se_reduction else nn.Identity()
        if stride == 1 and in_ch == out_ch:
            self.shortcut = nn.Identity()
        elif avg_down and stride > 1:
            self.shortcut = nn.Sequential(nn.AvgPool2D(stride, stride, ceil_mode=True), conv_bn(in_ch, out_ch, 1, act=False))
        else:
            self.shortcut = conv_bn(in_ch, out_ch, 1, stride, act=False)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        y = self.se(self.conv3(self.conv2(self.conv1(x))))
        return nn.functional.relu(y + self.shortcut(x))


class ResNetBody(nn.Layer):
    def __init__(self, layers: list[int], stem: str = "plain", avg_down: bool = False, groups: int = 1,
                 base_width: int = 64, se_reduction: int = 0, deep_stem: tuple[int, int, int] = (32, 32, 64)) -> None:
        super().__init__()
        if stem == "deep":
            a, b, c = deep_stem
            self.stem = nn.Sequential(conv_bn(3, a, 3, 2), conv_bn(a, b, 3), conv_bn(b, c, 3))
            in_ch = c
        else:
            self.stem = conv_bn(3, 64, 7, 2)
            in_ch = 64
        self.pool = nn.MaxPool2D(3, 2, padding=1)
        stages = []
        for i, (planes, depth) in enumerate(zip((64, 128, 256, 512), layers)):
            blocks = []
            for j in range(depth):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(Bottleneck(in_ch, planes, stride, groups, base_width, se_reduction, avg_down))
                in_ch = planes * Bottleneck.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.global_pool = nn.AdaptiveAvgPool2D(1)
        self.out_channels = in_ch

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.flatten(self.global_pool(self.stages(self.pool(self.stem(x)))), 1)


def _net(num_classes: int, **body_args) -> ClassifierNet:
    body = ResNetBody(**body_args)
    return linear_net(body, body.out_channels, num_classes)


def resnet50_vd(num_classes: int) -> ClassifierNet:
    return _net(num_classes, layers=[3, 4, 6, 3], stem="deep", avg_down=True)


def resnet200_vd(num_classes: int) -> ClassifierNet:
    # PaddleClas's ResNet200 stacks [3, 12, 48, 3] blocks (deeper third stage than [3, 24, 36, 3]).
    return _net(num_classes, layers=[3, 12, 48, 3], stem="deep", avg_down=True)


def resnext152_vd_64x4d(num_classes: int) -> ClassifierNet:
    return _net(num_classes, layers=[3, 8, 36, 3], stem="deep", avg_down=True, groups=64, base_width=4)


def se_resnext50_32x4d(num_classes: int) -> ClassifierNet:
    return _net(num_classes, layers=[3, 4, 6, 3], groups=32, base_width=4, se_reduction=16)


def senet154_vd(num_classes: int) -> ClassifierNet:
    # SENet-154 (Hu et al.) as PaddleClas's SENet154_vd: 64x4d grouped bottlenecks with
    # squeeze-excitation, a 64-64-128 deep stem and average-pool shortcuts.
    return _net(num_classes, layers=[3, 8, 36, 3], stem="deep", avg_down=True, groups=64, base_width=4,
                se_reduction=16, deep_stem=(64, 64, 128))
