"""The `chinese_ocr_db_crnn_mobile` hub module: every text line of an image, with box, text, confidence.

    import cv2, hubcore as hub
    ocr = hub.Module(name="chinese_ocr_db_crnn_mobile")
    ocr.recognize_text(images=[cv2.imread("receipt.jpg")], visualization=True)
    # [{"save_path": "ocr_result/image0_1a2b3c4d.jpg",
    #   "data": [{"text": "合计 ¥35.00", "confidence": 0.97, "text_box_position": [[x, y] x4]}, ...]}]

It joins three modules, declared as dependencies in its manifest and loaded by name, so each is
usable alone and cached once: chinese_text_detection_db_mobile finds the lines,
ocr_direction_cls_mobile turns upside-down ones upright, chinese_text_recognition_mobile reads them.
Lines of all the images of one call are recognised together, in width-sorted batches.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

import hubcore

from . import draw, images as imagelib
from .crops import crop_line
from .db_postprocess import DBParams
from .detection import box_list, db_params, stem_of
from .engine import LoadOptions
from .options import (check_bool, check_count, check_fraction, check_min_width, check_output_dir, check_positive,
                      check_use_gpu)

DETECTION = "chinese_text_detection_db_mobile"
DIRECTION = "ocr_direction_cls_mobile"
RECOGNITION = "chinese_text_recognition_mobile"


@dataclass(frozen=True)
class Line:
    """One recognised text line: its box (tl, tr, br, bl; float32 image pixels), text and confidence."""

    box: np.ndarray
    text: str
    confidence: float

    def to_dict(self) -> dict:
        return {"text": self.text, "confidence": float(self.confidence), "text_box_position": box_list(self.box)}


class ChineseOCRDBCRNNMobile(hubcore.Module):
    """Chinese and English OCR. Init args: device ("cpu", "gpu", "gpu:N"), threads (CPU math threads
    per network, default all), mkldnn (oneDNN on the CPU), rec_batch_size (most lines per
    recognition call), rec_min_width (recognition padding, see chinese_text_recognition_mobile's
    min_width), max_pixels (larger images are refused)."""

    def __init__(self, device: str = "cpu", threads: int | None = None, mkldnn: bool = True, rec_batch_size: int = 8,
                 rec_min_width: int = 320, max_pixels: int = imagelib.DEFAULT_MAX_PIXELS) -> None:
        self.options = LoadOptions.checked(device, threads, mkldnn)
        self.max_pixels = int(check_positive(max_pixels, "max_pixels"))
        shared = self.options.as_init_args()
        self.detection = self._dependency(DETECTION, **shared)
        self.direction = self._dependency(DIRECTION, **shared)
        self.recognition = self._dependency(RECOGNITION, batch_size=check_count(rec_batch_size, "rec_batch_size"),
                                            min_width=check_min_width(rec_min_width, "rec_min_width"), **shared)

    def _dependency(self, name: str, **init_args: Any) -> Any:
        return hubcore.Module(name=name, version=self.requires.modules.get(name) or None, **init_args)

    @property
    def device(self) -> str:
        return self.options.device

    @hubcore.serving(batch="images", default=True)
    def recognize_text(self, images: list[hubcore.Image] = None, paths: list[hubcore.FilePath] | None = None,
                       use_gpu: bool = False, output_dir: hubcore.OutputDir = "ocr_result", visualization: bool = False,
                       box_thresh: float = 0.5, text_thresh: float = 0.5, angle_classification_thresh: float = 0.9,
                       det_db_unclip_ratio: float = 1.6) -> list[dict]:
        """Find and read every text line of each image.

        Args:
            images: the images; in Python each may be a numpy array (HxWx3 BGR, as cv2.imread gives), encoded bytes, a PIL image or a file path.
            paths: image files to read (PaddleHub's paths=[...]); their results follow those of images.
            use_gpu: PaddleHub's flag; the device is chosen at load (device="gpu"), this only checks it.
            output_dir: folder for the drawn images (visualization=True); with None (always over HTTP)
                nothing is written and each drawing is returned as "visualization" (base64 JPEG).
            visualization: also draw each image with its boxes and recognised text: written under
                output_dir, its path returned as save_path.
            box_thresh: minimum mean text probability inside a detected box (0-1); lower finds fainter text.
            text_thresh: minimum recognition confidence of a line to be returned (0-1).
            angle_classification_thresh: confidence above which a line judged upside down is turned before reading.
            det_db_unclip_ratio: how far each detected text kernel is grown back into a line box.

        Returns one {"save_path": str, "data": [{"text", "confidence", "text_box_position"}]} per
        image (plus "visualization" when the drawing is kept in the result), lines top to bottom then
        left to right; text_box_position is four [x, y] points (top-left, top-right, bottom-right,
        bottom-left) in the image's pixels.
        """
        check_use_gpu(use_gpu, self.device, self.name)
        params = db_params(box_thresh, det_db_unclip_ratio)
        text_thresh = check_fraction(text_thresh, "text_thresh")
        angle_thresh = check_fraction(angle_classification_thresh, "angle_classification_thresh")
        visualization = check_bool(visualization, "visualization")
        folder = check_output_dir(output_dir) if visualization else None
        items = imagelib.gather(images, paths)
        arrays = imagelib.load_all(items, self.max_pixels)
        per_image = self.read_arrays(arrays, params, text_thresh, angle_thresh)
        results = []
        for index, ((raw, _), array, lines) in enumerate(zip(items, arrays, per_image)):
            result = {"save_path": "", "data": [ln.to_dict() for ln in lines]}
            if visualization:
                drawing = draw.draw_ocr(array, [ln.box for ln in lines], [ln.text for ln in lines])
                result.update(draw.keep(drawing, folder, stem_of(raw, index)))
            results.append(result)
        return results

    def read_arrays(self, arrays: Sequence[np.ndarray], params: DBParams = DBParams(), text_thresh: float = 0.5,
                    angle_thresh: float = 0.9, use_angle_cls: bool = True,
                    timings: dict[str, float] | None = None) -> list[list[Line]]:
        """The lines of BGR uint8 arrays (already checked). timings, when given, accumulates seconds per stage."""
        clock = _Clock(timings)
        detections = self.detection.detect_arrays(arrays, params)
        clock.lap("det")
        crops, owners = [], []
        for image_index, (array, found) in enumerate(zip(arrays, detections)):
            for box_index, quad in enumerate(found.boxes):
                crop = crop_line(array, quad)
                if crop is not None:
                    crops.append(crop)
                    owners.append((image_index, box_index))
        clock.lap("crop")
        if use_angle_cls and crops:
            crops, _ = self.direction.upright_arrays(crops, angle_thresh)
        clock.lap("cls")
        read = self.recognition.recognize_arrays(crops) if crops else []
        clock.lap("rec")
        lines: list[list[Line]] = [[] for _ in arrays]
        for (image_index, box_index), (text, confidence) in zip(owners, read):
            if confidence >= text_thresh:
                lines[image_index].append(Line(detections[image_index].boxes[box_index], text, confidence))
        return lines

    @classmethod
    def sample_input(cls) -> dict:
        from .samples import sample_image

        return {"images": [sample_image()]}


class _Clock:
    """Adds the time since the previous lap to timings[stage] (nothing when timings is None)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
        self.last = now
