"""The `ocr_direction_cls_mobile` hub module: is a text line upright or upside down (PP-OCR mobile v2)?

    cls = hub.Module(name="ocr_direction_cls_mobile")
    cls.classify(images=[line_image])   # [{"angle": 180, "confidence": 0.99}]
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

import hubcore

from . import images as imagelib
from .classifier import Direction, DirectionClassifier
from .engine import LoadOptions, load_predictor
from .options import check_fraction, check_positive, check_use_gpu


class OCRDirectionClsMobile(hubcore.Module):
    """Text line direction (0 or 180 degrees). Init args: device ("cpu", "gpu", "gpu:N"), threads
    (CPU math threads, default all), mkldnn (oneDNN on the CPU), max_pixels (larger images are refused)."""

    def __init__(self, device: str = "cpu", threads: int | None = None, mkldnn: bool = True,
                 max_pixels: int = imagelib.DEFAULT_MAX_PIXELS) -> None:
        self.options = LoadOptions.checked(device, threads, mkldnn)
        self.max_pixels = int(check_positive(max_pixels, "max_pixels"))
        self.classifier = DirectionClassifier(load_predictor(self.artifact("cls_model"), self.options, self.name))
        self.classifier.warm_up()  # also makes a broken model or device fail here, not mid-request

    @property
    def device(self) -> str:
        return self.options.device

    @hubcore.serving(batch="images", default=True)
    def classify(self, images: list[hubcore.Image], use_gpu: bool = False) -> list[dict]:
        """Tell for each text line image whether it is upright (0) or upside down (180).

        Args:
            images: images of single text lines (crops), wider than high; in Python each may be a numpy array (HxWx3 BGR, as cv2.imread gives), encoded bytes, a PIL image or a file path.
            use_gpu: PaddleHub's flag; the device is chosen at load (device="gpu"), this only checks it.

        Returns one {"angle": 0 or 180, "confidence": float} per image.
        """
        check_use_gpu(use_gpu, self.device, self.name)
        arrays = imagelib.load_all(imagelib.gather(images, None), self.max_pixels)
        return [{"angle": d.angle, "confidence": d.confidence} for d in self.classify_arrays(arrays)]

    def classify_arrays(self, crops: Sequence[np.ndarray]) -> list[Direction]:
        """Directions of BGR uint8 line crops (already checked): for other modules."""
        return self.classifier.classify(crops)

    def upright_arrays(self, crops: Sequence[np.ndarray], thresh: float = 0.9) -> tuple[list[np.ndarray], list[Direction]]:
        """The crops, those found upside down (with confidence above thresh) turned by 180 degrees."""
        return self.classifier.upright(crops, check_fraction(thresh, "angle_classification_thresh"))

    @classmethod
    def sample_input(cls) -> dict:
        from .samples import sample_line

        return {"images": [sample_line()]}
