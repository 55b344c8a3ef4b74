"""Network builders by name. Each returns a ClassifierNet (backbone -> features -> head).

Builders are imported lazily, so naming an architecture does not import paddle.
"""
from __future__ import annotations

import importlib
from typing import Any

# builder name -> "file:function"; the function takes num_classes and returns a ClassifierNet
ARCHS: dict[str, str] = {
    "mobilenet_v2": "vision:mobilenet_v2",
    "mobilenet_v1": "vision:mobilenet_v1",
    "mobilenet_v3_small": "vision:mobilenet_v3_small",
    "mobilenet_v3_large": "vision:mobilenet_v3_large",
    "shufflenet_v2": "vision:shufflenet_v2",
    "densenet161": "vision:densenet161",
    "squeezenet1_1": "vision:squeezenet1_1",
    "alexnet": "vision:alexnet",
    "vgg19": "vision:vgg19",
    "googlenet": "vision:googlenet",
    "resnet50": "vision:resnet50",
    "resnet50_vd": "resnet:resnet50_vd",
    "resnet200_vd": "resnet:resnet200_vd",
    "resnext152_vd_64x4d": "resnet:resnext152_vd_64x4d",
    "se_resnext50_32x4d": "resnet:se_resnext50_32x4d",
    "senet154_vd": "resnet:senet154_vd",
    "inception_v4": "inception_v4:inception_v4",
    "xception71": "xception:xception71",
    "dpn107": "dpn:dpn107",
    "darknet53": "darknet:darknet53",
    "efficientnet_lite0": "efficientnet:efficientnet_lite0",
    **{f"efficientnet_b{i}": f"efficientnet:efficientnet_b{i}" for i in range(8)},
}


def build(arch: str, num_classes: int) -> Any:
    """Construct the named network with a num_classes head (random initial weights)."""
    try:
        target = ARCHS[arch]
    except KeyError:
        raise KeyError(f"unknown architecture {arch!r}; known: {sorted(ARCHS)}") from None
    file, _, function = target.partition(":")
    module = importlib.import_module(f"{__name__}.{file}")
    return getattr(module, function)(num_classes)
