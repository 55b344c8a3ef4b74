"""DeepLabv3+ with an Xception-65 backbone (Chen et al., ECCV 2018), as PaddleSeg built it.

Encoder: ASPP on the stride-16 features: image pooling + 1x1 conv, a 1x1 conv and three separable
3x3 convs (dilations 6, 12, 18), 256 channels each, fused by a 1x1 conv, then PaddleSeg's dropout
of 0.9 that scales by 0.1 at inference ("downgrade in infer": the weights were trained with it).
Decoder: stride-4 features projected to 48 channels, concatenated with the upsampled encoder
output, two separable convs of 256 channels, a 1x1 classifier, upsampled to the input size.
At 2 classes: 41,050,530 learned values (with BatchNorm statistics 41,253,330 float32 values,
157.4 MiB; PaddleHub lists deeplabv3p_xception65_humanseg at 162 MB).
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn

from .layers import ConvBN, SeparableConv, resize
from .xception import Xception65


class ASPP(nn.Layer):
    def __init__(self, in_ch: int = 2048, ch: int = 256, rates: tuple[int, int, int] = (6, 12, 18)):
        super().__init__()
        self.image_pool = ConvBN(in_ch, ch, 1)
        self.aspp0 = ConvBN(in_ch, ch, 1)
        self.aspp = nn.LayerList([SeparableConv(in_ch, ch, 1, r, act=True, epsilon=1e-5) for r in rates])
        self.project = ConvBN(ch * (2 + len(rates)), ch, 1)
        self.dropout = nn.Dropout(0.9, mode="downscale_in_infer")

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        pooled = resize(self.image_pool(x.mean(axis=[2, 3], keepdim=True)), x.shape[2:])
        branches = [pooled, self.aspp0(x)] + [conv(x) for conv in self.aspp]
        return self.dropout(self.project(paddle.concat(branches, axis=1)))


class DeepLabV3PlusXception(nn.Layer):
    """forward(images) -> class probabilities at input size (eval); logits at input size when training."""

    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.backbone = Xception65()
        self.encoder = ASPP()
        self.low = ConvBN(256, 48, 1)
        self.decoder = nn.Sequential(SeparableConv(256 + 48, 256, act=True, epsilon=1e-5),
                                     SeparableConv(256, 256, act=True, epsilon=1e-5))
        self.classifier = nn.Conv2D(256, num_classes, 1)

    def forward(self, images: paddle.Tensor) -> paddle.Tensor:
        size = images.shape[2:]
        x, low = self.backbone(images)
        x = self.encoder(x)
        low = self.low(low)
        x = self.decoder(paddle.concat([resize(x, low.shape[2:]), low], axis=1))
        logits = resize(self.classifier(x), size)
        return logits if self.training else F.softmax(logits, axis=1)
