"""Each module's pretrained configuration as data (architecture, classes, preprocessing, reference
parameter count), kept apart from model code, like timm's pretrained configs. Metadata that the hub
reads without importing code (summary, license, artifacts, `pretrained`) lives in hubmodule.toml.
"""
from __future__ import annotations

from dataclasses import dataclass

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_LABELS = "imagenet1k_labels.txt"


@dataclass(frozen=True)
class Preprocess:
    """How an RGB image becomes the network's input: resize the short side, center-crop, normalise."""

    crop_size: int = 224  # side of the square crop the network sees
    resize_short: int = 256  # the shorter image side is resized to this before the center crop
    mean: tuple[float, float, float] = IMAGENET_MEAN  # per RGB channel, on pixel values scaled to 0..1
    std: tuple[float, float, float] = IMAGENET_STD  # per RGB channel, on pixel values scaled to 0..1
    interpolation: str = "bilinear"  # PIL resampling filter of the resize: "bilinear" or "bicubic"


@dataclass(frozen=True)
class ClassifierConfig:
    """One module: which network, which classes, how to prepare images, how to read its weights."""

    arch: str  # builder name in archs.ARCHS
    reference_params_m: float  # published parameter count, millions, rounded to 2 decimals
    reference: str  # where that count is published (checked by tests/test_classification_params.py)
    # PaddleClas's model tables leave grouped and depthwise convolution weights out of their counts;
    # True: reference_params_m is such a count, and the test leaves those weights out too.
    reference_omits_grouped_convs: bool = False
    num_classes: int = 1000
    labels: str | None = IMAGENET_LABELS  # data file, one class name a line; None: names come with the weights
    preprocess: Preprocess = Preprocess()
    converter: str | None = None  # convert.CONVERTERS entry for published non-paddle weights; None: safetensors in our names
    paper: str = ""  # the architecture's paper


def _efficientnet(variant: str, size: int, params: float) -> ClassifierConfig:
    # EfficientNet evaluates at crop_pct 0.875 with bicubic resizing (the TF reference evaluation).
    return ClassifierConfig(
        arch=f"efficientnet_{variant}", reference_params_m=params,
        reference="torchvision / TF reference implementation parameter count",
        preprocess=Preprocess(crop_size=size, resize_short=int(size / 0.875 + 0.5), interpolation="bicubic"),
        paper="Tan & Le, EfficientNet, ICML 2019 (arXiv:1905.11946)")


# PaddleClas evaluates its 299-pixel networks at resize 320, center crop 299, ImageNet mean/std.
_INCEPTION_PREPROCESS = Preprocess(crop_size=299, resize_short=320)

CONFIGS: dict[str, ClassifierConfig] = {
    # -- real published weights ----------------------------------------------------------------
    "mobilenet_v2_imagenet": ClassifierConfig(
        arch="mobilenet_v2", reference_params_m=3.50, reference="torchvision mobilenet_v2 (3,504,872)",
        converter="torchvision_mobilenet_v2", paper="Sandler et al., MobileNetV2, CVPR 2018 (arXiv:1801.04381)"),
    "efficientnet_lite0_imagenet": ClassifierConfig(
        arch="efficientnet_lite0", reference_params_m=4.65, reference="TF EfficientNet-Lite0 release / timm efficientnet_lite0 (4.65M)",
        # The Lite models were trained on inputs scaled to [-1, 1): (x - 127) / 128 on 0..255 pixels.
        preprocess=Preprocess(crop_size=224, resize_short=256, mean=(127 / 255,) * 3, std=(128 / 255,) * 3,
                              interpolation="bicubic"),
        converter="efficientnet_pytorch", paper="Tan & Le, EfficientNet (Lite variants: TF model garden, 2020)"),
    # -- architectures without published weights -------------------------------------------------
    "alexnet_imagenet": ClassifierConfig(
        arch="alexnet", reference_params_m=61.10, reference="torchvision alexnet (61,100,840)",
        paper="Krizhevsky et al., ImageNet Classification with Deep CNNs, NeurIPS 2012"),
    "vgg19_imagenet": ClassifierConfig(
        arch="vgg19", reference_params_m=143.67, reference="torchvision vgg19 (143,667,240)",
        paper="Simonyan & Zisserman, Very Deep ConvNets, ICLR 2015 (arXiv:1409.1556)"),
    "googlenet_imagenet": ClassifierConfig(
        arch="googlenet", reference_params_m=6.99, reference="GoogLeNet paper Table 1 layers (units of 1,024; see README note 1): 6,990,272 weights + 1,000 biases",
        paper="Szegedy et al., Going Deeper with Convolutions, CVPR 2015 (arXiv:1409.4842)"),
    "resnet_v2_50_imagenet": ClassifierConfig(
        arch="resnet50", reference_params_m=25.56, reference="torchvision resnet50 / PaddleClas ResNet50 (25.56M)",
        paper="He et al., Deep Residual Learning, CVPR 2016 (arXiv:1512.03385)"),
    "resnet50_vd_imagenet": ClassifierConfig(
        arch="resnet50_vd", reference_params_m=25.58, reference="PaddleClas ResNet50_vd (25.58M)",
        paper="He et al., Bag of Tricks for Image Classification, CVPR 2019 (arXiv:1812.01187)"),
    "resnet200_vd_imagenet": ClassifierConfig(
        arch="resnet200_vd", reference_params_m=74.74, reference="PaddleClas ResNet200_vd (74.74M)",
        paper="He et al., Bag of Tricks for Image Classification, CVPR 2019 (arXiv:1812.01187)"),
    "resnet50_vd_dishes": ClassifierConfig(
        arch="resnet50_vd", num_classes=8416, labels=None, reference_params_m=40.77,
        reference="ResNet50_vd (25.58M) with an 8416-class head: 23.53M + 2048*8416 + 8416",
        paper="He et al., Bag of Tricks for Image Classification, CVPR 2019 (arXiv:1812.01187)"),
    "resnet50_vd_animals": ClassifierConfig(
        arch="resnet50_vd", num_classes=7978, labels=None, reference_params_m=39.87,
        reference="ResNet50_vd (25.58M) with a 7978-class head: 23.53M + 2048*7978 + 7978",
        paper="He et al., Bag of Tricks for Image Classification, CVPR 2019 (arXiv:1812.01187)"),
    "resnext152_64x4d_imagenet": ClassifierConfig(
        arch="resnext152_vd_64x4d", reference_params_m=107.59, reference_omits_grouped_convs=True,
        reference="PaddleClas ResNeXt152_vd_64x4d (107.59M without grouped-conv weights; 114.99M in all)",
        paper="Xie et al., Aggregated Residual Transformations (ResNeXt), CVPR 2017 (arXiv:1611.05431)"),
    "se_resnext50_32x4d_imagenet": ClassifierConfig(
        arch="se_resnext50_32x4d", reference_params_m=27.56, reference="SENet reference models (Cadene pretrained-models se_resnext50_32x4d, 27.56M)",
        paper="Hu et al., Squeeze-and-Excitation Networks, CVPR 2018 (arXiv:1709.01507)"),
    "mobilenet_v1_imagenet": ClassifierConfig(
        arch="mobilenet_v1", reference_params_m=4.23, reference="MobileNets paper (4.2M) / Keras MobileNet 1.0 trainable parameters (4,231,976)",
        paper="Howard et al., MobileNets, arXiv:1704.04861"),
    "mobilenet_v3_small_imagenet": ClassifierConfig(
        arch="mobilenet_v3_small", reference_params_m=2.54, reference="torchvision mobilenet_v3_small (2,542,856)",
        paper="Howard et al., Searching for MobileNetV3, ICCV 2019 (arXiv:1905.02244)"),
    "mobilenet_v3_large_imagenet": ClassifierConfig(
        arch="mobilenet_v3_large", reference_params_m=5.48, reference="torchvision mobilenet_v3_large (5,483,032)",
        paper="Howard et al., Searching for MobileNetV3, ICCV 2019 (arXiv:1905.02244)"),
    "shufflenet_v2_imagenet": ClassifierConfig(
        arch="shufflenet_v2", reference_params_m=2.28, reference="torchvision shufflenet_v2_x1_0 (2,278,604)",
        paper="Ma et al., ShuffleNet V2, ECCV 2018 (arXiv:1807.11164)"),
    "densenet161_imagenet": ClassifierConfig(
        arch="densenet161", reference_params_m=28.68, reference="torchvision densenet161 / PaddleClas DenseNet161 (28.68M)",
        paper="Huang et al., Densely Connected Convolutional Networks, CVPR 2017 (arXiv:1608.06993)"),
    "squeezenet1_1_imagenet": ClassifierConfig(
        arch="squeezenet1_1", reference_params_m=1.24, reference="torchvision squeezenet1_1 (1,235,496)",
        paper="Iandola et al., SqueezeNet, arXiv:1602.07360"),
    "inception_v4_imagenet": ClassifierConfig(
        arch="inception_v4", reference_params_m=42.68, reference="PaddleClas InceptionV4 (42.68M) / Cadene inceptionv4 (42,679,816)",
        preprocess=_INCEPTION_PREPROCESS,
        paper="Szegedy et al., Inception-v4, Inception-ResNet, AAAI 2017 (arXiv:1602.07261)"),
    "xception71_imagenet": ClassifierConfig(
        arch="xception71", reference_params_m=37.28, reference_omits_grouped_convs=True,
        reference="PaddleClas Xception71 (37.28M without depthwise-conv weights; 37.68M in all)",
        preprocess=_INCEPTION_PREPROCESS,
        paper="Chollet, Xception, CVPR 2017 (arXiv:1610.02357); 71-layer variant from DeepLabv3+ (arXiv:1802.02611)"),
    "dpn107_imagenet": ClassifierConfig(
        arch="dpn107", reference_params_m=86.92, reference="Cadene pretrained-models dpn107 (86,917,800); "
        "PaddleClas DPN107 lists 82.97M, the same network without grouped-conv weights",
        paper="Chen et al., Dual Path Networks, NeurIPS 2017 (arXiv:1707.01629)"),
    "darknet53_imagenet": ClassifierConfig(
        arch="darknet53", reference_params_m=41.61,
        reference="YOLOv3 Table 1 layout with a 1000-class head (41,609,928); PaddleClas DarkNet53 lists 41.60M",
        preprocess=Preprocess(crop_size=256, resize_short=256),
        paper="Redmon & Farhadi, YOLOv3: An Incremental Improvement, arXiv:1804.02767"),
    "senet154_vd_imagenet": ClassifierConfig(
        arch="senet154_vd", reference_params_m=121.74,
        reference="PaddleClas SENet154_vd layout counted in full (121,737,048); PaddleClas lists 114.29M, "
        "which leaves out grouped-conv weights (7.40M) and ~0.05M more",
        paper="Hu et al., Squeeze-and-Excitation Networks, CVPR 2018 (arXiv:1709.01507)"),
    "efficientnetb0_imagenet": _efficientnet("b0", 224, 5.29),
    "efficientnetb1_imagenet": _efficientnet("b1", 240, 7.79),
    "efficientnetb2_imagenet": _efficientnet("b2", 260, 9.11),
    "efficientnetb3_imagenet": _efficientnet("b3", 300, 12.23),
    "efficientnetb4_imagenet": _efficientnet("b4", 380, 19.34),
    "efficientnetb5_imagenet": _efficientnet("b5", 456, 30.39),
    "efficientnetb6_imagenet": _efficientnet("b6", 528, 43.04),
    "efficientnetb7_imagenet": _efficientnet("b7", 600, 66.35),
}
