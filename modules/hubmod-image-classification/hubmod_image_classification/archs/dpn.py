"""Dual Path Networks (Chen et al., "Dual Path Networks", NeurIPS 2017, arXiv:1707.01629): each
block adds to a residual path (ResNeXt-like, grouped 3x3) and appends to a densely connected path
(DenseNet-like). Layers are pre-activation (batch norm, ReLU, convolution) as in the authors'
MXNet release. DPN-107: 128 stem channels, k_R = 200, G = 50, blocks (4, 8, 20, 3), dense
increments (20, 64, 64, 128).
"""
from __future__ import annotations

import paddle
from paddle import nn

from .base import ClassifierNet, linear_net

BN_EPSILON = 1e-3


class BnReluConv(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(nn.BatchNorm2D(in_ch, epsilon=BN_EPSILON), nn.ReLU(),
                         nn.Conv2D(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups, bias_attr=False))


class DualPathBlock(nn.Layer):
    def __init__(self, in_ch: int, mid: int, residual: int, inc: int, groups: int, kind: str) -> None:
        super().__init__()
        self.residual = residual
        stride = 2 if kind == "down" else 1
        # the first block of a stage projects the input onto both paths
        self.projection = BnReluConv(in_ch, residual + 2 * inc, 1, stride) if kind != "normal" else None
        self.reduce = BnReluConv(in_ch, mid, 1)
        self.grouped = BnReluConv(mid, mid, 3, stride, groups=groups)
        self.expand = BnReluConv(mid, residual + inc, 1)

    def forward(self, x: paddle.Tensor | tuple[paddle.Tensor, paddle.Tensor]) -> tuple[paddle.Tensor, paddle.Tensor]:
        # the first block of the network gets the stem's output alone; later ones both paths
        joined = paddle.concat(list(x), axis=1) if isinstance(x, tuple) else x
        if self.projection is not None:
            projected = self.projection(joined)
            res_in, dense_in = projected[:, :self.residual], projected[:, self.residual:]
        else:
            res_in, dense_in = x
        out = self.expand(self.grouped(self.reduce(joined)))
        return res_in + out[:, :self.residual], paddle.concat([dense_in, out[:, self.residual:]], axis=1)


class DPNBody(nn.Layer):
    def __init__(self, stem: int, k_r: int, groups: int, blocks: tuple, increments: tuple) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2D(3, stem, 7, 2, 3, bias_attr=False), nn.BatchNorm2D(stem, epsilon=BN_EPSILON),
                                  nn.ReLU(), nn.MaxPool2D(3, 2, 1))
        layers, in_ch = [], stem
        for stage, (count, inc) in enumerate(zip(blocks, increments)):
            residual = 256 * 2 ** stage
            mid = k_r * residual // 256
            layers.append(DualPathBlock(in_ch, mid, residual, inc, groups, "proj" if stage == 0 else "down"))
            in_ch = residual + 3 * inc
            for _ in range(count - 1):
                layers.append(DualPathBlock(in_ch, mid, residual, inc, groups, "normal"))
                in_ch += inc
        self.blocks = nn.LayerList(layers)
        self.final = nn.Sequential(nn.BatchNorm2D(in_ch, epsilon=BN_EPSILON), nn.ReLU(), nn.AdaptiveAvgPool2D(1))
        self.out_channels = in_ch

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.stem(x)
        paths = x
        for block in self.blocks:
            paths = block(paths)
        return paddle.flatten(self.final(paddle.concat(list(paths), axis=1)), 1)


def dpn107(num_classes: int) -> ClassifierNet:
    body = DPNBody(stem=128, k_r=200, groups=50, blocks=(4, 8, 20, 3), increments=(20, 64, 64, 128))
    return linear_net(body, body.out_channels, num_classes)
