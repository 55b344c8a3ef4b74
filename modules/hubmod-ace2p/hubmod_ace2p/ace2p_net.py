"""ACE2P: Augmented Context Embedding with Edge Perceiving (Baidu, CVPR 2019 LIP challenge winner).

Three branches on a dilated ResNet-101 (PaddleSeg's contrib/ACE2P description; layer sizes from
CE2P, "Devil in the Details: Towards Accurate Single and Multiple Human Parsing"):
  - context embedding: a pyramid pooling module (bins 1, 2, 3, 6; 512 channels each) on the
    stride-16 features, fused by a 3x3 conv to 512 channels;
  - high-resolution embedding: the context upsampled and fused with stride-4 features (48
    channels) into a 256-channel parsing feature and a first parsing result;
  - edge perceiving: 1x1 convs on the stride-4, -8 and -16 features (256 channels each), one shared
    3x3 conv predicting edge/non-edge at each scale, fused by a 1x1 conv;
  - fusion: parsing feature and the three edge features (1024 channels) -> 256 -> the final parsing.
The full network has 66,723,928 learned values at 20 classes (with BatchNorm statistics, 66,838,456
float32 values, 255.0 MiB; PaddleHub lists its ace2p model at 259 MB). Baidu's training code is
unpublished, so head details not stated in those sources (ReLU after each BN, bilinear resizing
with aligned corners) follow CE2P.
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn

from .layers import ConvBN, resize
from .resnet import DilatedResNet


class PyramidPooling(nn.Layer):
    """Context encoding: average-pool to 1x1..6x6 grids, project, upsample, concatenate, fuse."""

    def __init__(self, in_ch: int = 2048, out_ch: int = 512, bins: tuple[int, ...] = (1, 2, 3, 6)):
        super().__init__()
        self.bins = bins
        self.stages = nn.LayerList([ConvBN(in_ch, out_ch, 1) for _ in bins])
        self.bottleneck = ConvBN(in_ch + len(bins) * out_ch, out_ch, 3, 1, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        size = x.shape[2:]
        priors = [resize(stage(F.adaptive_avg_pool2d(x, b)), size) for b, stage in zip(self.bins, self.stages)]
        return self.bottleneck(paddle.concat(priors + [x], axis=1))


class EdgePerceiving(nn.Layer):
    def __init__(self, in_chs: tuple[int, int, int] = (256, 512, 1024), mid: int = 256, out: int = 2):
        super().__init__()
        # Registered in the order forward() first uses them (edge conv right after the first branch).
        self.branch1 = ConvBN(in_chs[0], mid, 1)
        self.edge = nn.Conv2D(mid, out, 3, padding=1)
        self.branch2 = ConvBN(in_chs[1], mid, 1)
        self.branch3 = ConvBN(in_chs[2], mid, 1)
        self.fuse = nn.Conv2D(out * 3, out, 1)

    def forward(self, c2: paddle.Tensor, c3: paddle.Tensor, c4: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor]:
        size = c2.shape[2:]
        f1 = self.branch1(c2)
        e1 = self.edge(f1)
        f2 = self.branch2(c3)
        e2 = self.edge(f2)
        f3 = self.branch3(c4)
        e3 = self.edge(f3)
        f2, f3, e2, e3 = (resize(t, size) for t in (f2, f3, e2, e3))
        edge = self.fuse(paddle.concat([e1, e2, e3], axis=1))
        return edge, paddle.concat([f1, f2, f3], axis=1)


class ParsingDecoder(nn.Layer):
    """High-resolution embedding: context (stride 16) fused with low-level features (stride 4)."""

    def __init__(self, num_classes: int, context_ch: int = 512, low_ch: int = 256):
        super().__init__()
        self.context = ConvBN(context_ch, 256, 1)
        self.low = ConvBN(low_ch, 48, 1)
        self.fuse = nn.Sequential(ConvBN(256 + 48, 256, 1), ConvBN(256, 256, 1))
        self.classifier = nn.Conv2D(256, num_classes, 1)

    def forward(self, context: paddle.Tensor, low: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor]:
        x = resize(self.context(context), low.shape[2:])
        feature = self.fuse(paddle.concat([x, self.low(low)], axis=1))
        return self.classifier(feature), feature


class ACE2PNet(nn.Layer):
    """forward(images) -> parsing logits at input size (eval); (parsing, fused parsing, edge) when training."""

    def __init__(self, num_classes: int = 20, depth: int = 101):
        super().__init__()
        self.backbone = DilatedResNet(depth)
        self.context = PyramidPooling()
        self.edge = EdgePerceiving()
        self.decoder = ParsingDecoder(num_classes)
        self.fusion = nn.Sequential(ConvBN(256 + 3 * 256, 256, 1), nn.Dropout2D(0.1), nn.Conv2D(256, num_classes, 1))

    def forward(self, images: paddle.Tensor) -> paddle.Tensor | tuple[paddle.Tensor, ...]:
        size = images.shape[2:]
        c2, c3, c4, c5 = self.backbone(images)
        context = self.context(c5)
        edge, edge_features = self.edge(c2, c3, c4)
        first, feature = self.decoder(context, c2)
        fused = self.fusion(paddle.concat([feature, edge_features], axis=1))
        if not self.training:
            return resize(fused, size)
        return resize(first, size), resize(fused, size), resize(edge, size)


def edge_labels(labels: paddle.Tensor) -> paddle.Tensor:
    """1 where a pixel's class differs from its right or lower neighbour, else 0 ([N, H, W] int64)."""
    right = labels[:, :, 1:] != labels[:, :, :-1]
    down = labels[:, 1:, :] != labels[:, :-1, :]
    edge = paddle.zeros_like(labels, dtype="bool")
    edge[:, :, 1:] = right
    edge[:, 1:, :] = paddle.logical_or(edge[:, 1:, :], down)
    return edge.astype("int64")


def ace2p_loss(outputs: tuple[paddle.Tensor, ...], labels: paddle.Tensor, ignore_index: int = 255) -> paddle.Tensor:
    """Cross-entropy on both parsing outputs plus edge cross-entropy (CE2P's training objective)."""
    first, fused, edge = outputs
    parsing = sum(F.cross_entropy(o, labels, axis=1, ignore_index=ignore_index) for o in (first, fused))
    edge_target = edge_labels(labels)
    positives = edge_target.astype("float32").mean()
    weight = paddle.stack([positives, 1 - positives]).detach()  # balance the rare edge pixels
    return parsing + F.cross_entropy(edge, edge_target, weight=weight, axis=1)
