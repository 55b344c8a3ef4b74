"""Xception-65 as DeepLabv3+ uses it (PaddleSeg's xception_65, output stride 16).

Entry flow: two 3x3 convs (32, 64) and three blocks (128, 256, 728 channels, each ending in a
stride-2 separable conv with a strided 1x1 shortcut); middle flow: 16 residual blocks of three
728-channel separable convs; exit flow: a block to 1024 channels (stride dropped to keep output
stride 16) and a last block of 1536, 1536, 2048 channels with dilation 2 and ReLU inside its
separable convs. BatchNorm epsilon 1e-3, as PaddleSeg sets it for Xception.
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn

from .layers import ConvBN, SeparableConv

EPS = 1e-3


class XceptionBlock(nn.Layer):
    def __init__(self, in_ch: int, channels: tuple[int, int, int], stride: int = 1, dilation: int = 1,
                 shortcut: str = "conv", act_inside: bool = False):
        super().__init__()
        self.act_inside = act_inside
        chs = (in_ch, *channels)
        self.convs = nn.LayerList([
            SeparableConv(chs[i], chs[i + 1], stride if i == 2 else 1, dilation, act=act_inside, epsilon=EPS)
            for i in range(3)
        ])
        # shortcut: "conv" (strided 1x1 + BN), "identity", or "none"; used after the convs, so registered after.
        self.shortcut_kind = shortcut
        self.shortcut = ConvBN(in_ch, channels[-1], 1, stride, relu=False, epsilon=EPS) if shortcut == "conv" else None

    def forward(self, x: paddle.Tensor) -> tuple[paddle.Tensor, list[paddle.Tensor]]:
        outs = []
        y = x
        for conv in self.convs:
            y = conv(y if self.act_inside else F.relu(y))
            outs.append(y)
        if self.shortcut_kind == "conv":
            y = y + self.shortcut(x)
        elif self.shortcut_kind == "identity":
            y = y + x
        return y, outs


class Xception65(nn.Layer):
    """Returns (stride-16 features, 2048 channels; stride-4 features for the decoder, 256 channels)."""

    def __init__(self, middle_blocks: int = 16):
        super().__init__()
        self.stem = nn.Sequential(ConvBN(3, 32, 3, 2, 1, epsilon=EPS), ConvBN(32, 64, 3, 1, 1, epsilon=EPS))
        self.entry = nn.LayerList([
            XceptionBlock(64, (128, 128, 128), stride=2),
            XceptionBlock(128, (256, 256, 256), stride=2),
            XceptionBlock(256, (728, 728, 728), stride=2),
        ])
        self.middle = nn.LayerList([XceptionBlock(728, (728, 728, 728), shortcut="identity")
                                    for _ in range(middle_blocks)])
        self.exit = nn.LayerList([
            XceptionBlock(728, (728, 1024, 1024)),
            XceptionBlock(1024, (1536, 1536, 2048), dilation=2, shortcut="none", act_inside=True),
        ])

    def forward(self, x: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor]:
        x = self.stem(x)
        low = None
        for i, block in enumerate(self.entry):
            x, outs = block(x)
            if i == 1:
                low = outs[1]  # second separable conv of entry block 2: stride 4, before the strided conv
        for block in list(self.middle) + list(self.exit):
            x, _ = block(x)
        return x, low
