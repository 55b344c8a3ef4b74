"""Dilated ResNet-101 with a three-conv stem, the backbone of CE2P/ACE2P.

As in CE2P (Ruan et al., "Devil in the Details", AAAI 2019): the 7x7 stem conv is replaced by three
3x3 convs (64, 64, 128 channels), the stride sits on each bottleneck's 3x3 conv, and the last stage
keeps stride 1 with dilation 2, so features come out at 1/16 of the input. Without the ImageNet
classifier it has 42,623,936 learned values (the plain ResNet-101 trunk: 42,500,160).
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn

from .layers import ConvBN

DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


class Bottleneck(nn.Layer):
    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = ConvBN(in_ch, planes, 1)
        self.conv2 = ConvBN(planes, planes, 3, stride, dilation, dilation)
        self.conv3 = ConvBN(planes, out_ch, 1, relu=False)
        # After conv3, because forward() uses it there: the import-by-use-order mapping relies on it.
        self.downsample = ConvBN(in_ch, out_ch, 1, stride, relu=False) if stride != 1 or in_ch != out_ch else None

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        out = self.conv3(self.conv2(self.conv1(x)))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + shortcut)


class DilatedResNet(nn.Layer):
    """Returns the outputs of the four stages (strides 4, 8, 16, 16; 256..2048 channels)."""

    def __init__(self, depth: int = 101):
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {depth!r}")
        self.stem = nn.Sequential(ConvBN(3, 64, 3, 2, 1), ConvBN(64, 64, 3, 1, 1), ConvBN(64, 128, 3, 1, 1))
        self._in_ch = 128
        blocks = DEPTHS[depth]
        self.layer1 = self._stage(64, blocks[0])
        self.layer2 = self._stage(128, blocks[1], stride=2)
        self.layer3 = self._stage(256, blocks[2], stride=2)
        self.layer4 = self._stage(512, blocks[3], dilation=2)

    def _stage(self, planes: int, blocks: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        layers = []
        for i in range(blocks):
            layers.append(Bottleneck(self._in_ch, planes, stride if i == 0 else 1, dilation))
            self._in_ch = planes * Bottleneck.expansion
        return nn.Sequential(*layers)

    def forward(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        x = F.max_pool2d(self.stem(x), 3, 2, 1)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c2, c3, c4, c5]
