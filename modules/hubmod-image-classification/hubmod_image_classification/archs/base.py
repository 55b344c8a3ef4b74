"""The shape every network here takes: a backbone giving feature vectors, and a replaceable head.

    logits = net.head(net.backbone(images))      images: float32 NCHW, normalised

Fine-tuning takes `net.backbone` (features of width `net.feature_size`) and `reset_head(n)` gives a
fresh head for n classes, as PaddleHub's `label_list=[...]` did.
"""
from __future__ import annotations

import paddle
from paddle import nn


class LinearHead(nn.Layer):
    """Dropout (training only) then a fully connected layer: the classic classifier head."""

    def __init__(self, in_features: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.fc(self.dropout(x))

    def renew(self, num_classes: int) -> "LinearHead":
        p = self.dropout.p if isinstance(self.dropout, nn.Dropout) else 0.0
        return LinearHead(self.fc.weight.shape[0], num_classes, p)


class ClassifierNet(nn.Layer):
    """backbone: images -> [N, feature_size] features; head: features -> [N, num_classes] logits."""

    def __init__(self, backbone: nn.Layer, feature_size: int, head: nn.Layer) -> None:
        super().__init__()
        self.backbone = backbone
        self.feature_size = feature_size
        self.head = head

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.head(self.backbone(x))

    def reset_head(self, num_classes: int) -> None:
        """Replace the head by a freshly initialised one with num_classes outputs."""
        self.head = self.head.renew(num_classes)


def linear_net(backbone: nn.Layer, feature_size: int, num_classes: int, dropout: float = 0.0) -> ClassifierNet:
    return ClassifierNet(backbone, feature_size, LinearHead(feature_size, num_classes, dropout))


class Flatten(nn.Layer):
    """Runs a layer whose output is [N, C, 1, 1] (or [N, C]) and returns [N, C]."""

    def __init__(self, body: nn.Layer) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.flatten(self.body(x), 1)


class FeatureExtractor(nn.Layer):
    """A classifier's backbone as a Layer: preprocessed images (float32 NCHW) -> [N, feature_size]."""

    def __init__(self, net: ClassifierNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        pooled = getattr(self.net, "pooled_features", None)
        return pooled(x) if pooled is not None else self.net.backbone(x)


def count_parameters(layer: nn.Layer, *, grouped_convs: bool = True) -> int:
    """Learnable parameters (BatchNorm running statistics excluded), the count papers publish.

    Running statistics are told apart by name, not by `trainable`, so a frozen backbone still counts.
    grouped_convs=False leaves out the weights of grouped and depthwise convolutions, reproducing
    how PaddleClas's model tables count.
    """
    total = sum(int(p.size) for name, p in layer.named_parameters() if not name.endswith(("._mean", "._variance")))
    if not grouped_convs:
        total -= sum(int(sub.weight.size) for sub in layer.sublayers()
                     if isinstance(sub, nn.Conv2D) and sub._groups > 1)
    return total
