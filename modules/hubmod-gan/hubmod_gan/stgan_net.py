"""STGAN (Liu et al., CVPR 2019): encoder, selective transfer units (conv-GRU cells), decoder.

Layer sizes follow PaddleCV's STGAN (release 1.7, the code PaddleHub's stgan_celeba came from):
5 encoder convs 4x4/2 (64..1024 channels, BatchNorm, leaky ReLU 0.2), 4 STUs on the skip
connections, 5 transposed convs 4x4/2 in the decoder, with the attribute *difference* vector
injected at the decoder input and after each of the first 4 decoder layers. At 13 attributes the
generator has 74,979,331 learned values; with BatchNorm statistics, 74,983,299 float32 values
(286.0 MiB; PaddleHub lists its stgan_celeba model at 287 MB).
"""
from __future__ import annotations

import paddle
from paddle import nn

from .layers import ConvBlock, concat_attrs

MAX_DIM = 1024


class SelectiveTransferUnit(nn.Layer):
    """A conv-GRU cell: decides, per position, how much of the encoder feature to pass on.

    The hidden state comes from the level below (upsampled by a transposed conv); the output
    mixes that state with new information from the encoder feature, gated by learned gates.
    """

    def __init__(self, in_ch: int, state_ch: int, out_ch: int):
        super().__init__()
        self.upsample = ConvBlock(state_ch, out_ch, 4, 2, 1, bias=True, transpose=True)
        self.reset_gate = ConvBlock(in_ch + out_ch, out_ch, 3, 1, 1, act="sigmoid", bias=True)
        self.update_gate = ConvBlock(in_ch + out_ch, out_ch, 3, 1, 1, act="sigmoid", bias=True)
        self.info = ConvBlock(in_ch + out_ch, out_ch, 3, 1, 1, act="tanh", bias=True)

    def forward(self, feature: paddle.Tensor, state: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor]:
        state = self.upsample(state)
        both = paddle.concat([feature, state], axis=1)
        reset = self.reset_gate(both)
        update = self.update_gate(both)
        kept = reset * state
        new_info = self.info(paddle.concat([feature, kept], axis=1))
        output = (1 - update) * state + update * new_info
        return output, kept  # PaddleCV passes the reset-gated state ("lstate") upward


class STGANGenerator(nn.Layer):
    def __init__(self, n_attrs: int = 13, dim: int = 64, n_layers: int = 5, stu_layers: int = 4):
        super().__init__()
        self.n_attrs = n_attrs
        self.n_layers = n_layers
        enc_dims = [min(dim * 2 ** i, MAX_DIM) for i in range(n_layers)]
        self.encoder = nn.LayerList()
        in_ch = 3
        for d in enc_dims:
            self.encoder.append(ConvBlock(in_ch, d, 4, 2, 1, norm="batch_norm", act="leaky_relu", slope=0.2))
            in_ch = d
        # STU i works on encoder level n_layers-2-i, from the top down; every state gets the attributes.
        self.stus = nn.LayerList()
        state_ch = enc_dims[-1] + n_attrs
        stu_dims = []
        for i in range(stu_layers):
            d = min(dim * 2 ** (stu_layers - 1 - i), MAX_DIM)
            self.stus.append(SelectiveTransferUnit(enc_dims[n_layers - 2 - i], state_ch, d))
            stu_dims.append(d)
            state_ch = d + n_attrs
        self.decoder = nn.LayerList()
        in_ch = enc_dims[-1] + n_attrs
        for i in range(n_layers - 1):
            d = min(dim * 2 ** (n_layers - 1 - i), MAX_DIM)
            self.decoder.append(ConvBlock(in_ch, d, 4, 2, 1, norm="batch_norm", act="relu", transpose=True))
            skip = stu_dims[i] if i < stu_layers else enc_dims[n_layers - 2 - i]
            in_ch = d + skip + n_attrs
        self.decoder.append(ConvBlock(in_ch, 3, 4, 2, 1, act="tanh", bias=True, transpose=True))

    def encode(self, image: paddle.Tensor) -> list[paddle.Tensor]:
        features = []
        x = image
        for layer in self.encoder:
            x = layer(x)
            features.append(x)
        return features

    def forward(self, image: paddle.Tensor, attr_diff: paddle.Tensor) -> paddle.Tensor:
        """image: [N, 3, H, W] in [-1, 1], H and W multiples of 32; attr_diff: target minus source attributes."""
        features = self.encode(image)
        skips = list(features[:-1])
        state = concat_attrs(features[-1], attr_diff)
        for i, stu in enumerate(self.stus):
            level = self.n_layers - 2 - i
            skips[level], kept = stu(features[level], state)
            state = concat_attrs(kept, attr_diff)
        x = concat_attrs(features[-1], attr_diff)
        for i, layer in enumerate(self.decoder[:-1]):
            x = layer(x)
            x = concat_attrs(paddle.concat([x, skips[self.n_layers - 2 - i]], axis=1), attr_diff)
        return self.decoder[-1](x)

    def reconstruction_loss(self, image: paddle.Tensor, attrs: paddle.Tensor) -> paddle.Tensor:
        """L1 between the input and its edit with no attribute change (STGAN's reconstruction term)."""
        zero = paddle.zeros_like(attrs)
        return (self(image, zero) - image).abs().mean()


class AttributeDiscriminator(nn.Layer):
    """STGAN/AttGAN discriminator: 5 strided convs, then a real/fake head and an attribute head."""

    def __init__(self, n_attrs: int = 13, image_size: int = 128, dim: int = 64, fc_dim: int = 1024,
                 n_layers: int = 5, norm: str | None = "instance_norm", slope: float = 0.2,
                 head_act: str = "leaky_relu"):
        super().__init__()
        self.convs = nn.LayerList()
        in_ch = 3
        for i in range(n_layers):
            d = min(dim * 2 ** i, MAX_DIM)
            self.convs.append(ConvBlock(in_ch, d, 4, 2, 1, norm=norm, act="leaky_relu", slope=slope,
                                        bias=norm is None))
            in_ch = d
        flat = in_ch * (image_size // 2 ** n_layers) ** 2
        act = nn.LeakyReLU(slope) if head_act == "leaky_relu" else nn.ReLU()
        self.adv = nn.Sequential(nn.Linear(flat, fc_dim), act, nn.Linear(fc_dim, 1))
        self.cls = nn.Sequential(nn.Linear(flat, fc_dim), act, nn.Linear(fc_dim, n_attrs))

    def forward(self, image: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor]:
        x = image
        for conv in self.convs:
            x = conv(x)
        x = x.flatten(1)
        return self.adv(x), self.cls(x)

