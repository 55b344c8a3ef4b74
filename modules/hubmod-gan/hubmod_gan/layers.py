"""Convolution blocks shared by the GAN networks (conv or transposed conv, then norm, then activation).

Sublayers are registered in the order forward() uses them: importing a Paddle inference program
maps parameters by the order its ops use them, so that order is part of the weight format.
"""
from __future__ import annotations

import paddle
from paddle import nn

NORMS = ("batch_norm", "instance_norm", None)


def norm_layer(kind: str | None, channels: int) -> nn.Layer | None:
    if kind == "batch_norm":
        return nn.BatchNorm2D(channels, momentum=0.9, epsilon=1e-5)
    if kind == "instance_norm":
        return nn.InstanceNorm2D(channels, epsilon=1e-5)  # affine: scale and offset, as PaddleCV's
    if kind is None:
        return None
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


def activation(kind: str | None, slope: float = 0.2) -> nn.Layer | None:
    return {
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(slope),
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        None: lambda: None,
    }[kind]()


class ConvBlock(nn.Layer):
    """conv (or transposed conv) -> optional norm -> optional activation."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0, *,
                 norm: str | None = None, act: str | None = None, slope: float = 0.2, bias: bool = False,
                 transpose: bool = False, dilation: int = 1):
        super().__init__()
        conv = nn.Conv2DTranspose if transpose else nn.Conv2D
        self.conv = conv(in_ch, out_ch, kernel, stride=stride, padding=padding, dilation=dilation,
                         bias_attr=None if bias else False)
        self.norm = norm_layer(norm, out_ch)
        self.act = activation(act, slope)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.act is not None:
            x = self.act(x)
        return x


def tile_like(attrs: paddle.Tensor, feature: paddle.Tensor) -> paddle.Tensor:
    """Attribute vector [N, A] broadcast to a feature map's spatial size: [N, A, H, W]."""
    n, a = attrs.shape
    return attrs.reshape([n, a, 1, 1]).expand([n, a, feature.shape[2], feature.shape[3]])


def concat_attrs(feature: paddle.Tensor, attrs: paddle.Tensor) -> paddle.Tensor:
    return paddle.concat([feature, tile_like(attrs, feature)], axis=1)


def count_parameters(layer: nn.Layer) -> int:
    """Number of learned values; BatchNorm running statistics are not learned, so not counted."""
    return int(sum(int(p.numel()) for p in layer.parameters() if p.trainable))
