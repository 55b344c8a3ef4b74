"""One class per module: the hub finds a module's manifest entry by its class name."""
from __future__ import annotations

from .classifier import ImageClassifier
from .configs import CONFIGS


class MobilenetV2ImageNet(ImageClassifier):
    config = CONFIGS["mobilenet_v2_imagenet"]


class EfficientnetLite0ImageNet(ImageClassifier):
    config = CONFIGS["efficientnet_lite0_imagenet"]


class AlexnetImageNet(ImageClassifier):
    config = CONFIGS["alexnet_imagenet"]


class Vgg19ImageNet(ImageClassifier):
    config = CONFIGS["vgg19_imagenet"]


class GooglenetImageNet(ImageClassifier):
    config = CONFIGS["googlenet_imagenet"]


class ResnetV250ImageNet(ImageClassifier):
    config = CONFIGS["resnet_v2_50_imagenet"]


class Resnet50VdImageNet(ImageClassifier):
    config = CONFIGS["resnet50_vd_imagenet"]


class Resnet200VdImageNet(ImageClassifier):
    config = CONFIGS["resnet200_vd_imagenet"]


class Resnet50VdDishes(ImageClassifier):
    config = CONFIGS["resnet50_vd_dishes"]


class Resnet50VdAnimals(ImageClassifier):
    config = CONFIGS["resnet50_vd_animals"]


class Resnext15264x4dImageNet(ImageClassifier):
    config = CONFIGS["resnext152_64x4d_imagenet"]


class SeResnext5032x4dImageNet(ImageClassifier):
    config = CONFIGS["se_resnext50_32x4d_imagenet"]


class MobilenetV1ImageNet(ImageClassifier):
    config = CONFIGS["mobilenet_v1_imagenet"]


class MobilenetV3SmallImageNet(ImageClassifier):
    config = CONFIGS["mobilenet_v3_small_imagenet"]


class MobilenetV3LargeImageNet(ImageClassifier):
    config = CONFIGS["mobilenet_v3_large_imagenet"]


class ShufflenetV2ImageNet(ImageClassifier):
    config = CONFIGS["shufflenet_v2_imagenet"]


class Densenet161ImageNet(ImageClassifier):
    config = CONFIGS["densenet161_imagenet"]


class Squeezenet11ImageNet(ImageClassifier):
    config = CONFIGS["squeezenet1_1_imagenet"]


class Efficientnetb0ImageNet(ImageClassifier):
    config = CONFIGS["efficientnetb0_imagenet"]


class Efficientnetb1ImageNet(ImageClassifier):
    config = CONFIGS["efficientnetb1_imagenet"]


class Efficientnetb2ImageNet(ImageClassifier):
    config = CONFIGS["efficientnetb2_imagenet"]


class Efficientnetb3ImageNet(ImageClassifier):
    config = CONFIGS["efficientnetb3_imagenet"]


class Efficientnetb4ImageNet(ImageClassifier):
    config = CONFIGS["efficientnetb4_imagenet"]


class Efficientnetb5ImageNet(ImageClassifier):
    config = CONFIGS["efficientnetb5_imagenet"]


class Efficientnetb6ImageNet(ImageClassifier):
    config = CONFIGS["efficientnetb6_imagenet"]


class Efficientnetb7ImageNet(ImageClassifier):
    config = CONFIGS["efficientnetb7_imagenet"]


class InceptionV4ImageNet(ImageClassifier):
    config = CONFIGS["inception_v4_imagenet"]


class Xception71ImageNet(ImageClassifier):
    config = CONFIGS["xception71_imagenet"]


class Dpn107ImageNet(ImageClassifier):
    config = CONFIGS["dpn107_imagenet"]


class Darknet53ImageNet(ImageClassifier):
    config = CONFIGS["darknet53_imagenet"]


class Senet154VdImageNet(ImageClassifier):
    config = CONFIGS["senet154_vd_imagenet"]
