"""Inception-v4 (Szegedy et al., "Inception-v4, Inception-ResNet and the Impact of Residual
Connections on Learning", AAAI 2017, arXiv:1602.07261), Figures 3-9 of the paper: stem, 4x
Inception-A, Reduction-A, 7x Inception-B, Reduction-B, 3x Inception-C. 299x299 input.
"""
from __future__ import annotations

import paddle
from paddle import nn

from .base import ClassifierNet, linear_net


class ConvBN(nn.Sequential):
    """Convolution without bias, batch norm (TF's epsilon 1e-3), ReLU; padding "valid" unless given."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int | tuple, stride: int = 1, padding: int | tuple = 0) -> None:
        super().__init__(nn.Conv2D(in_ch, out_ch, kernel, stride, padding, bias_attr=False),
                         nn.BatchNorm2D(out_ch, epsilon=1e-3), nn.ReLU())


def _concat(*outs: paddle.Tensor) -> paddle.Tensor:
    return paddle.concat(list(outs), axis=1)


class Stem(nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.Sequential(ConvBN(3, 32, 3, 2), ConvBN(32, 32, 3), ConvBN(32, 64, 3, padding=1))
        self.pool1 = nn.MaxPool2D(3, 2)
        self.conv1 = ConvBN(64, 96, 3, 2)
        self.branch_a = nn.Sequential(ConvBN(160, 64, 1), ConvBN(64, 96, 3))
        self.branch_b = nn.Sequential(ConvBN(160, 64, 1), ConvBN(64, 64, (1, 7), padding=(0, 3)),
                                      ConvBN(64, 64, (7, 1), padding=(3, 0)), ConvBN(64, 96, 3))
        self.conv2 = ConvBN(192, 192, 3, 2)
        self.pool2 = nn.MaxPool2D(3, 2)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.convs(x)
        x = _concat(self.pool1(x), self.conv1(x))
        x = _concat(self.branch_a(x), self.branch_b(x))
        return _concat(self.conv2(x), self.pool2(x))


class InceptionA(nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.pool_branch = nn.Sequential(nn.AvgPool2D(3, 1, 1, exclusive=True), ConvBN(384, 96, 1))
        self.b1 = ConvBN(384, 96, 1)
        self.b3 = nn.Sequential(ConvBN(384, 64, 1), ConvBN(64, 96, 3, padding=1))
        self.b33 = nn.Sequential(ConvBN(384, 64, 1), ConvBN(64, 96, 3, padding=1), ConvBN(96, 96, 3, padding=1))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return _concat(self.pool_branch(x), self.b1(x), self.b3(x), self.b33(x))


class ReductionA(nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2D(3, 2)
        self.b3 = ConvBN(384, 384, 3, 2)
        self.b33 = nn.Sequential(ConvBN(384, 192, 1), ConvBN(192, 224, 3, padding=1), ConvBN(224, 256, 3, 2))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return _concat(self.pool(x), self.b3(x), self.b33(x))


def _c17(in_ch: int, out_ch: int) -> ConvBN:
    return ConvBN(in_ch, out_ch, (1, 7), padding=(0, 3))


def _c71(in_ch: int, out_ch: int) -> ConvBN:
    return ConvBN(in_ch, out_ch, (7, 1), padding=(3, 0))


class InceptionB(nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.pool_branch = nn.Sequential(nn.AvgPool2D(3, 1, 1, exclusive=True), ConvBN(1024, 128, 1))
        self.b1 = ConvBN(1024, 384, 1)
        self.b7 = nn.Sequential(ConvBN(1024, 192, 1), _c17(192, 224), _c71(224, 256))
        self.b77 = nn.Sequential(ConvBN(1024, 192, 1), _c71(192, 192), _c17(192, 224), _c71(224, 224),
                                 _c17(224, 256))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return _concat(self.pool_branch(x), self.b1(x), self.b7(x), self.b77(x))


class ReductionB(nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2D(3, 2)
        self.b3 = nn.Sequential(ConvBN(1024, 192, 1), ConvBN(192, 192, 3, 2))
        self.b73 = nn.Sequential(ConvBN(1024, 256, 1), _c17(256, 256), _c71(256, 320), ConvBN(320, 320, 3, 2))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return _concat(self.pool(x), self.b3(x), self.b73(x))


class InceptionC(nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.pool_branch = nn.Sequential(nn.AvgPool2D(3, 1, 1, exclusive=True), ConvBN(1536, 256, 1))
        self.b1 = ConvBN(1536, 256, 1)
        self.b3 = ConvBN(1536, 384, 1)
        self.b3_13 = ConvBN(384, 256, (1, 3), padding=(0, 1))
        self.b3_31 = ConvBN(384, 256, (3, 1), padding=(1, 0))
        self.b33 = nn.Sequential(ConvBN(1536, 384, 1), ConvBN(384, 448, (3, 1), padding=(1, 0)),
                                 ConvBN(448, 512, (1, 3), padding=(0, 1)))
        self.b33_13 = ConvBN(512, 256, (1, 3), padding=(0, 1))
        self.b33_31 = ConvBN(512, 256, (3, 1), padding=(1, 0))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        b3, b33 = self.b3(x), self.b33(x)
        return _concat(self.pool_branch(x), self.b1(x), self.b3_13(b3), self.b3_31(b3), self.b33_13(b33),
                       self.b33_31(b33))


class InceptionV4Body(nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(Stem(), *[InceptionA() for _ in range(4)], ReductionA(),
                                      *[InceptionB() for _ in range(7)], ReductionB(), *[InceptionC() for _ in range(3)])
        self.pool = nn.AdaptiveAvgPool2D(1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.flatten(self.pool(self.features(x)), 1)


def inception_v4(num_classes: int) -> ClassifierNet:
    # The paper keeps 80% of the pooled features in training (dropout 0.2).
    return linear_net(InceptionV4Body(), 1536, num_classes, dropout=0.2)
