"""DarkNet-53 (Redmon & Farhadi, "YOLOv3: An Incremental Improvement", arXiv:1804.02767, Table 1):
53 convolutions of 3x3 and 1x1 with residual blocks [1, 2, 8, 8, 4], leaky ReLU, then global
average pooling and a classifier. 256x256 input, as PaddleClas evaluates it.
"""
from __future__ import annotations

import paddle
from paddle import nn

from .base import ClassifierNet, linear_net


def conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2D(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, bias_attr=False),
                         nn.BatchNorm2D(out_ch), nn.LeakyReLU(0.1))


class Residual(nn.Layer):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = conv_bn(channels, channels // 2, 1)
        self.conv2 = conv_bn(channels // 2, channels, 3)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return x + self.conv2(self.conv1(x))


class DarkNet53Body(nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        layers, in_ch = [conv_bn(3, 32, 3)], 32
        for out_ch, blocks in zip((64, 128, 256, 512, 1024), (1, 2, 8, 8, 4)):
            layers.append(conv_bn(in_ch, out_ch, 3, 2))
            layers += [Residual(out_ch) for _ in range(blocks)]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2D(1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.flatten(self.pool(self.features(x)), 1)


def darknet53(num_classes: int) -> ClassifierNet:
    return linear_net(DarkNet53Body(), 1024, num_classes)
