"""StarGAN (Choi et al., CVPR 2018): one generator for every attribute domain.

The generator of the paper (and of PaddleCV's StarGAN, release 1.7): the target attribute vector
tiled and concatenated to the image, a 7x7 conv, two 4x4/2 down-sampling convs, 6 residual blocks
at 256 channels, two 4x4/2 transposed convs and a 7x7 conv to RGB, instance norm throughout and no
biases. At 5 attributes: 8,430,528 learned values (32.2 MiB; PaddleHub lists stargan_celeba at 33 MB).
"""
from __future__ import annotations

import paddle
from paddle import nn

from .layers import ConvBlock, concat_attrs


class ResidualBlock(nn.Layer):
    def __init__(self, dim: int):
        super().__init__()
        self.conv1 = ConvBlock(dim, dim, 3, 1, 1, norm="instance_norm", act="relu")
        self.conv2 = ConvBlock(dim, dim, 3, 1, 1, norm="instance_norm")

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return x + self.conv2(self.conv1(x))


class StarGANGenerator(nn.Layer):
    def __init__(self, n_attrs: int = 5, dim: int = 64, n_res: int = 6):
        super().__init__()
        layers = [ConvBlock(3 + n_attrs, dim, 7, 1, 3, norm="instance_norm", act="relu")]
        for i in range(2):
            layers.append(ConvBlock(dim * 2 ** i, dim * 2 ** (i + 1), 4, 2, 1, norm="instance_norm", act="relu"))
        layers += [ResidualBlock(dim * 4) for _ in range(n_res)]
        for i in range(2):
            layers.append(ConvBlock(dim * 2 ** (2 - i), dim * 2 ** (1 - i), 4, 2, 1, norm="instance_norm",
                                    act="relu", transpose=True))
        layers.append(ConvBlock(dim, 3, 7, 1, 3, act="tanh"))
        self.main = nn.Sequential(*layers)

    def forward(self, image: paddle.Tensor, attrs: paddle.Tensor) -> paddle.Tensor:
        """image: [N, 3, H, W] in [-1, 1], H and W multiples of 4; attrs: target attributes, 0 or 1."""
        return self.main(concat_attrs(image, attrs))

    def reconstruction_loss(self, image: paddle.Tensor, attrs: paddle.Tensor) -> paddle.Tensor:
        """StarGAN's cycle term: edit to the flipped attributes and back, L1 to the input."""
        edited = self(image, 1 - attrs)
        return (self(edited, attrs) - image).abs().mean()


class StarGANDiscriminator(nn.Layer):
    """PatchGAN real/fake map plus an attribute classifier over the whole image."""

    def __init__(self, n_attrs: int = 5, image_size: int = 128, dim: int = 64, n_layers: int = 6):
        super().__init__()
        n_layers = min(n_layers, max(1, image_size.bit_length() - 2))  # keep a map of at least 2x2 to classify
        convs = []
        in_ch = 3
        for i in range(n_layers):
            out = dim * 2 ** i
            convs.append(ConvBlock(in_ch, out, 4, 2, 1, act="leaky_relu", slope=0.01, bias=True))
            in_ch = out
        self.main = nn.Sequential(*convs)
        self.adv = nn.Conv2D(in_ch, 1, 3, padding=1, bias_attr=False)
        self.cls = nn.Conv2D(in_ch, n_attrs, image_size // 2 ** n_layers, bias_attr=False)

    def forward(self, image: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor]:
        x = self.main(image)
        return self.adv(x), self.cls(x).flatten(1)
