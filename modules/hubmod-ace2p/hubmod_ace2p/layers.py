"""Convolution blocks shared by the segmentation networks.

Sublayers are registered in the order forward() uses them: importing a Paddle inference program
maps parameters by the order its ops use them, so that order is part of the weight format.
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn


class ConvBN(nn.Layer):
    """conv (no bias) -> BatchNorm -> optional ReLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 1, stride: int = 1, padding: int = 0,
                 dilation: int = 1, groups: int = 1, relu: bool = True, epsilon: float = 1e-5):
        super().__init__()
        self.conv = nn.Conv2D(in_ch, out_ch, kernel, stride=stride, padding=padding, dilation=dilation,
                              groups=groups, bias_attr=False)
        self.bn = nn.BatchNorm2D(out_ch, epsilon=epsilon)
        self.relu = relu

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x


class SeparableConv(nn.Layer):
    """Depthwise 3x3 (dilated) conv + BN, then pointwise 1x1 conv + BN; ReLU after each when act."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, dilation: int = 1, act: bool = False,
                 epsilon: float = 1e-3):
        super().__init__()
        self.depthwise = ConvBN(in_ch, in_ch, 3, stride, dilation, dilation, groups=in_ch, relu=act, epsilon=epsilon)
        self.pointwise = ConvBN(in_ch, out_ch, 1, relu=act, epsilon=epsilon)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.pointwise(self.depthwise(x))


def resize(x: paddle.Tensor, size: list[int] | tuple[int, int]) -> paddle.Tensor:
    """Bilinear resize with corners aligned (fluid's resize_bilinear, which these models were built with)."""
    return F.interpolate(x, size=list(size), mode="bilinear", align_corners=True)


def count_parameters(layer: nn.Layer) -> int:
    """Number of learned values; BatchNorm running statistics are not learned, so not counted."""
    return int(sum(int(p.numel()) for p in layer.parameters() if p.trainable))
