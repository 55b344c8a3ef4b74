"""Fine-tuning an image backbone at a smaller input size than the module predicts at.

An image module's context preprocesses to the size its network was trained at (224 pixels for
most); small images (digits, icons, thumbnails) gain nothing from that and cost the square of it.
Networks that pool globally (MobileNet, ResNet, EfficientNet) accept any size, so:

    context = sized_image_context(hub.Module(name="mobilenet_v2_imagenet").context(), size=64)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..module import Context


def sized_image_context(context: Context, size: int) -> Context:
    """context with a preprocess that resizes images (HWC uint8 arrays or PIL images) to size x size and
    normalises them with the module's own mean and std (context.extra["mean"], ["std"], on 0..1 pixels)."""
    extra = context.extra or {}
    if "mean" not in extra or "std" not in extra:
        raise InputError("this context does not say its normalisation (extra['mean'], extra['std']); "
                         "use its own preprocess")
    if not isinstance(size, int) or size < 8:
        raise InputError(f"size={size!r}: expected an integer of at least 8 pixels")
    mean = np.asarray(extra["mean"], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(extra["std"], dtype=np.float32).reshape(1, 3, 1, 1)

    def preprocess(images: list[Any]) -> np.ndarray:
        batch = np.stack([_rgb(image, size) for image in images]).astype(np.float32)
        return (batch.transpose(0, 3, 1, 2) / 255.0 - mean) / std

    return Context(backbone=context.backbone, feature_size=context.feature_size, preprocess=preprocess,
                   task=context.task, extra={**extra, "input_size": size})


def _rgb(image: Any, size: int) -> np.ndarray:
    from PIL import Image

    if isinstance(image, np.ndarray) and image.shape == (size, size, 3) and image.dtype == np.uint8:
        return image
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    if not isinstance(image, Image.Image):
        raise InputError(f"expected HWC uint8 arrays or PIL images, got {type(image).__name__}")
    return np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR))
