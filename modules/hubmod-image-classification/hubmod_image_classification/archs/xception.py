"""Xception-71 as PaddleClas builds it (the network of its Xception71 ImageNet model).

Chollet's Xception ("Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017,
arXiv:1610.02357) deepened as in DeepLabv3+ (arXiv:1802.02611): five entry-flow blocks and sixteen
middle-flow blocks. Separable convolutions here run the pointwise 1x1 before the depthwise 3x3,
each followed by batch norm, and entry/exit blocks downsample with max pooling plus a strided 1x1
shortcut, as in PaddleClas's layout. 299x299 input.
"""
from __future__ import annotations

import paddle
from paddle import nn

from .base import ClassifierNet, linear_net


def conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2D(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups, bias_attr=False),
                         nn.BatchNorm2D(out_ch))


class SeparableConv(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(conv_bn(in_ch, out_ch, 1), conv_bn(out_ch, out_ch, 3, groups=out_ch))


class DownBlock(nn.Layer):
    """Two separable convolutions, max-pool (stride 1 or 2), plus a 1x1 shortcut of the same stride."""

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int, stride: int, relu_first: bool) -> None:
        super().__init__()
        self.relu_first = relu_first
        self.shortcut = nn.Conv2D(in_ch, out_ch, 1, stride, bias_attr=False)
        self.sep1 = SeparableConv(in_ch, mid_ch)
        self.sep2 = SeparableConv(mid_ch, out_ch)
        self.pool = nn.MaxPool2D(3, stride, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        y = nn.functional.relu(x) if self.relu_first else x
        y = self.sep2(nn.functional.relu(self.sep1(y)))
        return self.shortcut(x) + self.pool(y)


class MiddleBlock(nn.Layer):
    def __init__(self, channels: int = 728) -> None:
        super().__init__()
        self.seps = nn.LayerList([SeparableConv(channels, channels) for _ in range(3)])

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        y = x
        for sep in self.seps:
            y = sep(nn.functional.relu(y))
        return x + y


class Xception71Body(nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 32, 3, 2), nn.ReLU(), conv_bn(32, 64, 3), nn.ReLU())
        entry = [(64, 128, 2, False), (128, 256, 1, True), (256, 256, 2, True), (256, 728, 1, True),
                 (728, 728, 2, True)]
        self.entry = nn.Sequential(*[DownBlock(i, o, o, s, r) for i, o, s, r in entry])
        self.middle = nn.Sequential(*[MiddleBlock() for _ in range(16)])
        self.exit = DownBlock(728, 728, 1024, 2, relu_first=True)
        self.exit_convs = nn.Sequential(SeparableConv(1024, 1536), nn.ReLU(), SeparableConv(1536, 2048), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2D(1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.exit_convs(self.exit(self.middle(self.entry(self.stem(x)))))
        return paddle.flatten(self.pool(x), 1)


def xception71(num_classes: int) -> ClassifierNet:
    return linear_net(Xception71Body(), 2048, num_classes)
