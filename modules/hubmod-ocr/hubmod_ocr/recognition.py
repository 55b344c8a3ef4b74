"""The `chinese_text_recognition_mobile` hub module: the text of single-line images (PP-OCRv4, CTC).

    rec = hub.Module(name="chinese_text_recognition_mobile")
    rec.recognize(images=[line_image])   # [{"text": "Hello OCR 2024", "confidence": 0.98}]
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

import hubcore

from . import images as imagelib
from .ctc import Alphabet
from .engine import LoadOptions, load_predictor
from .options import check_count, check_min_width, check_positive, check_use_gpu
from .recognizer import TextRecognizer


class ChineseTextRecognitionMobile(hubcore.Module):
    """Text line recognition (6,623 Chinese characters, Latin letters, digits, punctuation, space).
    Init args: device ("cpu", "gpu", "gpu:N"), threads (CPU math threads, default all), mkldnn
    (oneDNN on the CPU), batch_size (most lines per network call), min_width (lines are padded to at
    least this many pixels at 48 px high: 320 as PaddleOCR does; less is faster on short lines and
    changes some of their results), max_pixels (larger images are refused)."""

    def __init__(self, device: str = "cpu", threads: int | None = None, mkldnn: bool = True, batch_size: int = 8,
                 min_width: int = 320, max_pixels: int = imagelib.DEFAULT_MAX_PIXELS) -> None:
        self.options = LoadOptions.checked(device, threads, mkldnn)
        self.max_pixels = int(check_positive(max_pixels, "max_pixels"))
        alphabet = Alphabet.from_file(self.artifact("rec_dict"))
        predictor = load_predictor(self.artifact("rec_model"), self.options, self.name)
        self.recognizer = TextRecognizer(predictor, alphabet, max_batch=check_count(batch_size, "batch_size"),
                                         min_width=check_min_width(min_width, "min_width"))
        self.recognizer.warm_up()  # also checks that model and dictionary agree, here rather than mid-request

    @property
    def device(self) -> str:
        return self.options.device

    @hubcore.serving(batch="images", default=True)
    def recognize(self, images: list[hubcore.Image], use_gpu: bool = False) -> list[dict]:
        """Read the text of each single-line image.

        Args:
            images: images of single text lines (crops), upright; in Python each may be a numpy array (HxWx3 BGR, as cv2.imread gives), encoded bytes, a PIL image or a file path.
            use_gpu: PaddleHub's flag; the device is chosen at load (device="gpu"), this only checks it.

        Returns one {"text": str, "confidence": float} per image; confidence is the mean probability
        of the characters read (0.0 when nothing was read).
        """
        check_use_gpu(use_gpu, self.device, self.name)
        arrays = imagelib.load_all(imagelib.gather(images, None), self.max_pixels)
        return [{"text": text, "confidence": conf} for text, conf in self.recognize_arrays(arrays)]

    def recognize_arrays(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """(text, confidence) of BGR uint8 line crops (already checked): for other modules."""
        return self.recognizer.recognize(crops)

    @classmethod
    def sample_input(cls) -> dict:
        from .samples import sample_line

        return {"images": [sample_line()]}
