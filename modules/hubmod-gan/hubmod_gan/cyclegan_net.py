"""CycleGAN (Zhu et al., ICCV 2017): two ResNet generators translating between two image domains.

Each generator follows the paper's 256x256 network (and PaddleCV's CycleGAN_network, release
1.7): reflection pad + 7x7 conv, two 3x3/2 down-sampling convs, 9 residual blocks at 256 channels,
two 3x3/2 transposed convs (zero-padded by one row and column, as PaddleCV does) and a 7x7 conv
to RGB with tanh; instance norm. One generator has 11,388,035 learned values; the reference
PyTorch implementation reports 11.378 M (it puts biases on every conv and uses no affine scale in
its instance norms; PaddleCV's layout, used here, does the opposite for five convs).
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn

from .layers import ConvBlock, norm_layer

NET_BLOCKS = {"resnet_9block": 9, "resnet_6block": 6}


class _ReflectConv(nn.Layer):
    def __init__(self, pad: int, block: ConvBlock):
        super().__init__()
        self.pad = pad
        self.block = block

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.block(F.pad(x, [self.pad] * 4, mode="reflect"))


class ResnetBlock(nn.Layer):
    def __init__(self, dim: int, norm: str, dropout: bool = False):
        super().__init__()
        bias = norm == "instance_norm"
        self.conv1 = _ReflectConv(1, ConvBlock(dim, dim, 3, norm=norm, act="relu", bias=bias))
        self.dropout = nn.Dropout(0.5) if dropout else None
        self.conv2 = _ReflectConv(1, ConvBlock(dim, dim, 3, norm=norm, bias=bias))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        y = self.conv1(x)
        if self.dropout is not None:
            y = self.dropout(y)
        return x + self.conv2(y)


class _UpBlock(nn.Layer):
    """3x3/2 transposed conv, then one zero row and column (PaddleCV's output padding), norm, ReLU."""

    def __init__(self, in_ch: int, out_ch: int, norm: str):
        super().__init__()
        self.conv = nn.Conv2DTranspose(in_ch, out_ch, 3, stride=2, padding=1, bias_attr=False)
        self.norm = norm_layer(norm, out_ch)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = F.pad(self.conv(x), [0, 1, 0, 1])
        return F.relu(self.norm(x))


class ResnetGenerator(nn.Layer):
    def __init__(self, net: str = "resnet_9block", dim: int = 64, norm: str = "instance_norm",
                 dropout: bool = False):
        super().__init__()
        if net not in NET_BLOCKS:
            raise ValueError(f"net must be one of {sorted(NET_BLOCKS)}, got {net!r}")
        layers = [
            _ReflectConv(3, ConvBlock(3, dim, 7, norm=norm, act="relu")),
            ConvBlock(dim, dim * 2, 3, 2, 1, norm=norm, act="relu"),
            ConvBlock(dim * 2, dim * 4, 3, 2, 1, norm=norm, act="relu"),
        ]
        layers += [ResnetBlock(dim * 4, norm, dropout) for _ in range(NET_BLOCKS[net])]
        layers += [_UpBlock(dim * 4, dim * 2, norm), _UpBlock(dim * 2, dim, norm),
                   _ReflectConv(3, ConvBlock(dim, 3, 7, act="tanh", bias=True))]
        self.main = nn.Sequential(*layers)

    def forward(self, image: paddle.Tensor) -> paddle.Tensor:
        """image: [N, 3, H, W] in [-1, 1], H and W multiples of 4."""
        return self.main(image)


class CycleGANPair(nn.Layer):
    """Both directions: g_a maps domain A (photos) to B (label maps), g_b maps B back to A."""

    def __init__(self, net: str = "resnet_9block", dim: int = 64, norm: str = "instance_norm"):
        super().__init__()
        self.g_a = ResnetGenerator(net, dim, norm)
        self.g_b = ResnetGenerator(net, dim, norm)

    def forward(self, image: paddle.Tensor, to_b: bool = True) -> paddle.Tensor:
        return self.g_a(image) if to_b else self.g_b(image)

    def reconstruction_loss(self, image: paddle.Tensor, attrs: paddle.Tensor | None = None) -> paddle.Tensor:
        """Cycle consistency both ways (the same batch stands for both domains here)."""
        forward = (self.g_b(self.g_a(image)) - image).abs().mean()
        backward = (self.g_a(self.g_b(image)) - image).abs().mean()
        return forward + backward


class PatchDiscriminator(nn.Layer):
    """The 70x70 PatchGAN of the paper (PaddleCV's 'basic' discriminator)."""

    def __init__(self, dim: int = 64, n_layers: int = 3, norm: str = "instance_norm"):
        super().__init__()
        bias = norm != "batch_norm"
        layers = [ConvBlock(3, dim, 4, 2, 1, act="leaky_relu", bias=True)]
        ch = dim
        for _ in range(n_layers - 1):
            layers.append(ConvBlock(ch, ch * 2, 4, 2, 1, norm=norm, act="leaky_relu", bias=bias))
            ch *= 2
        out = dim * min(2 ** n_layers, 8)
        layers += [ConvBlock(ch, out, 4, 1, 1, norm=norm, act="leaky_relu", bias=bias),
                   ConvBlock(out, 1, 4, 1, 1, bias=True)]
        self.main = nn.Sequential(*layers)

    def forward(self, image: paddle.Tensor) -> paddle.Tensor:
        return self.main(image)
