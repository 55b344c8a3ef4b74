"""AttGAN (He et al., TIP 2019): encoder-decoder conditioned on the target attributes.

Layer sizes follow PaddleCV's AttGAN (release 1.7): 5 encoder convs 4x4/2 (64..1024 channels,
BatchNorm, leaky ReLU 0.01), 5 transposed convs in the decoder, one skip connection and one
attribute injection (after the first decoder layer). At 13 attributes: 43,448,003 learned values;
with BatchNorm statistics 43,451,971 float32 values (165.8 MiB; PaddleHub lists attgan_celeba at
167 MB). The discriminator is STGAN's with no normalisation, biases and ReLU heads.
"""
from __future__ import annotations

import paddle
from paddle import nn

from .layers import ConvBlock, concat_attrs
from .stgan_net import MAX_DIM, AttributeDiscriminator


class AttGANGenerator(nn.Layer):
    def __init__(self, n_attrs: int = 13, dim: int = 64, n_layers: int = 5, shortcut_layers: int = 1,
                 inject_layers: int = 1):
        super().__init__()
        self.n_layers = n_layers
        self.shortcut_layers = min(shortcut_layers, n_layers - 1)
        self.inject_layers = min(inject_layers, n_layers - 1)
        enc_dims = [min(dim * 2 ** i, MAX_DIM) for i in range(n_layers)]
        self.encoder = nn.LayerList()
        in_ch = 3
        for d in enc_dims:
            self.encoder.append(ConvBlock(in_ch, d, 4, 2, 1, norm="batch_norm", act="leaky_relu", slope=0.01))
            in_ch = d
        self.decoder = nn.LayerList()
        in_ch = enc_dims[-1] + n_attrs
        for i in range(n_layers - 1):
            d = min(dim * 2 ** (n_layers - 1 - i), MAX_DIM)
            self.decoder.append(ConvBlock(in_ch, d, 4, 2, 1, norm="batch_norm", act="relu", transpose=True))
            in_ch = d
            if i < self.shortcut_layers:
                in_ch += enc_dims[n_layers - 2 - i]
            if i < self.inject_layers:
                in_ch += n_attrs
        self.decoder.append(ConvBlock(in_ch, 3, 4, 2, 1, act="tanh", bias=True, transpose=True))

    def forward(self, image: paddle.Tensor, attrs: paddle.Tensor) -> paddle.Tensor:
        """image: [N, 3, H, W] in [-1, 1], H and W multiples of 32; attrs: target attributes (scaled)."""
        features = []
        x = image
        for layer in self.encoder:
            x = layer(x)
            features.append(x)
        x = concat_attrs(features[-1], attrs)
        for i, layer in enumerate(self.decoder[:-1]):
            x = layer(x)
            if i < self.shortcut_layers:
                x = paddle.concat([x, features[self.n_layers - 2 - i]], axis=1)
            if i < self.inject_layers:
                x = concat_attrs(x, attrs)
        return self.decoder[-1](x)

    def reconstruction_loss(self, image: paddle.Tensor, attrs: paddle.Tensor) -> paddle.Tensor:
        """L1 between the input and its decoding with its own attributes (AttGAN's reconstruction term)."""
        return (self(image, attrs) - image).abs().mean()


def attgan_discriminator(n_attrs: int = 13, image_size: int = 128) -> AttributeDiscriminator:
    return AttributeDiscriminator(n_attrs, image_size, norm=None, slope=0.01, head_act="relu")
