"""Networks that paddle.vision.models already has, given the backbone/head shape of base.py.

Layer sizes are paddle.vision's (which follow torchvision), so parameter counts equal torchvision's.
"""
from __future__ import annotations

import paddle
import paddle.vision.models as pvm
from paddle import nn

from .base import ClassifierNet, Flatten, linear_net


def resnet50(num_classes: int) -> ClassifierNet:
    return linear_net(Flatten(pvm.resnet50(num_classes=0)), 2048, num_classes)


def mobilenet_v1(num_classes: int) -> ClassifierNet:
    return linear_net(Flatten(pvm.mobilenet_v1(num_classes=0)), 1024, num_classes)


def mobilenet_v2(num_classes: int) -> ClassifierNet:
    return linear_net(Flatten(pvm.mobilenet_v2(num_classes=0)), 1280, num_classes, dropout=0.2)


def shufflenet_v2(num_classes: int) -> ClassifierNet:
    return linear_net(Flatten(pvm.shufflenet_v2_x1_0(num_classes=0)), 1024, num_classes)


def densenet161(num_classes: int) -> ClassifierNet:
    return linear_net(Flatten(pvm.densenet161(num_classes=0)), 2208, num_classes)


class _MobileNetV3Body(nn.Layer):
    """Convolutions, pooling, then the first fully connected layer with hard-swish (part of the body)."""

    def __init__(self, model: nn.Layer, conv_channels: int, feature_size: int) -> None:
        super().__init__()
        self.model = model
        self.fc = nn.Linear(conv_channels, feature_size)
        self.act = nn.Hardswish()

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.act(self.fc(paddle.flatten(self.model(x), 1)))


def mobilenet_v3_small(num_classes: int) -> ClassifierNet:
    return linear_net(_MobileNetV3Body(pvm.mobilenet_v3_small(num_classes=0), 576, 1024), 1024, num_classes, 0.2)


def mobilenet_v3_large(num_classes: int) -> ClassifierNet:
    return linear_net(_MobileNetV3Body(pvm.mobilenet_v3_large(num_classes=0), 960, 1280), 1280, num_classes, 0.2)


class _FullyConnectedBody(nn.Layer):
    """Convolutional features, flattened, then the two 4096-wide fully connected layers (AlexNet, VGG)."""

    def __init__(self, convs: nn.Layer, conv_features: int, dropout_first: bool) -> None:
        super().__init__()
        self.convs = convs
        # AlexNet applies dropout before each fully connected layer, VGG after.
        drop = lambda: nn.Dropout(0.5)  # noqa: E731
        fc6, fc7 = nn.Linear(conv_features, 4096), nn.Linear(4096, 4096)
        layers = [drop(), fc6, nn.ReLU(), drop(), fc7, nn.ReLU()] if dropout_first else \
            [fc6, nn.ReLU(), drop(), fc7, nn.ReLU(), drop()]
        self.fc = nn.Sequential(*layers)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.fc(paddle.flatten(self.convs(x), 1))


def alexnet(num_classes: int) -> ClassifierNet:
    body = _FullyConnectedBody(pvm.alexnet(num_classes=0), 256 * 6 * 6, dropout_first=True)
    return linear_net(body, 4096, num_classes)


def vgg19(num_classes: int) -> ClassifierNet:
    body = _FullyConnectedBody(pvm.vgg19(num_classes=0, with_pool=True), 512 * 7 * 7, dropout_first=False)
    return linear_net(body, 4096, num_classes)


class _SqueezeNetHead(nn.Layer):
    """SqueezeNet classifies with a 1x1 convolution and global average pooling, not a linear layer."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.dropout = nn.Dropout(0.5)
        self.conv = nn.Conv2D(in_channels, num_classes, 1)
        self.pool = nn.AdaptiveAvgPool2D(1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.flatten(self.pool(nn.functional.relu(self.conv(self.dropout(x)))), 1)

    def renew(self, num_classes: int) -> "_SqueezeNetHead":
        return _SqueezeNetHead(self.conv.weight.shape[1], num_classes)


class _SqueezeNet(ClassifierNet):
    """Backbone output is a feature map; fine-tuning features are its global average."""

    def pooled_features(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.flatten(nn.functional.adaptive_avg_pool2d(self.backbone(x), 1), 1)


def _squeezenet1_1_features() -> nn.Layer:
    # paddle.vision's num_classes=0 still builds its classifier convolution, with zero output
    # channels, which paddle 2.6 refuses to create: build it with one and drop it (forward skips it
    # when num_classes is 0), so the state dict is the same on every release.
    body = pvm.squeezenet1_1(num_classes=1, with_pool=False)
    body.num_classes = 0
    del body._conv9
    return body


def squeezenet1_1(num_classes: int) -> ClassifierNet:
    return _SqueezeNet(_squeezenet1_1_features(), 512, _SqueezeNetHead(512, num_classes))


class _GoogLeNetBody(nn.Layer):
    """paddle.vision's GoogLeNet main path; its two auxiliary training heads are left out."""

    def __init__(self) -> None:
        super().__init__()
        m = pvm.googlenet(num_classes=0, with_pool=True)
        self.stem = nn.Sequential(m._conv, m._pool, m._conv_1, m._conv_2, m._pool)
        self.blocks = nn.Sequential(m._ince3a, m._ince3b, nn.MaxPool2D(3, 2), m._ince4a, m._ince4b, m._ince4c,
                                    m._ince4d, m._ince4e, nn.MaxPool2D(3, 2), m._ince5a, m._ince5b)
        self.pool = nn.AdaptiveAvgPool2D(1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.flatten(self.pool(self.blocks(self.stem(x))), 1)


def googlenet(num_classes: int) -> ClassifierNet:
    return linear_net(_GoogLeNetBody(), 1024, num_classes, dropout=0.4)
