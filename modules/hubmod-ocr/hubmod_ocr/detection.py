"""The `chinese_text_detection_db_mobile` hub module: where the text lines are (PP-OCRv4 DB).

    det = hub.Module(name="chinese_text_detection_db_mobile")
    det.detect_text(images=[cv2.imread("receipt.jpg")])
    # [{"save_path": "", "data": [[[x, y], [x, y], [x, y], [x, y]], ...], "scores": [0.93, ...]}]
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

import hubcore

from . import draw, images as imagelib
from .db_postprocess import DBParams
from .detector import Detection, TextDetector
from .engine import LoadOptions, load_predictor
from .options import check_bool, check_fraction, check_output_dir, check_positive, check_use_gpu


def db_params(box_thresh: Any, unclip_ratio: Any, *, unclip_arg: str = "det_db_unclip_ratio") -> DBParams:
    return DBParams(box_thresh=check_fraction(box_thresh, "box_thresh"),
                    unclip_ratio=check_positive(unclip_ratio, unclip_arg, upper=10.0))


def stem_of(image: Any, index: int) -> str:
    if isinstance(image, (str, os.PathLike)):
        return os.path.splitext(os.path.basename(os.fspath(image)))[0] or f"image{index}"
    return f"image{index}"


def box_list(quad: np.ndarray) -> list[list[int]]:
    """A quadrilateral as PaddleHub gave it: four [x, y] integer pairs, tl, tr, br, bl."""
    return [[int(round(float(x))), int(round(float(y)))] for x, y in quad]


class ChineseTextDetectionDBMobile(hubcore.Module):
    """Text line detection. Init args: device ("cpu", "gpu", "gpu:N"), threads (CPU math threads,
    default all), mkldnn (oneDNN on the CPU), max_pixels (larger images are refused)."""

    def __init__(self, device: str = "cpu", threads: int | None = None, mkldnn: bool = True,
                 max_pixels: int = imagelib.DEFAULT_MAX_PIXELS) -> None:
        self.options = LoadOptions.checked(device, threads, mkldnn)
        self.max_pixels = int(check_positive(max_pixels, "max_pixels"))
        self.detector = TextDetector(load_predictor(self.artifact("det_model"), self.options, self.name))
        self.detector.warm_up()  # also makes a broken model or device fail here, not mid-request

    @property
    def device(self) -> str:
        return self.options.device

    @hubcore.serving(batch="images", default=True)
    def detect_text(self, images: list[hubcore.Image] = None, paths: list[hubcore.FilePath] | None = None,
                    use_gpu: bool = False, output_dir: hubcore.OutputDir = "detection_result",
                    visualization: bool = False, box_thresh: float = 0.5,
                    det_db_unclip_ratio: float = 1.6) -> list[dict]:
        """Find the text lines of each image: their 4-point boxes, in reading order.

        Args:
            images: the images; in Python each may be a numpy array (HxWx3 BGR, as cv2.imread gives), encoded bytes, a PIL image or a file path.
            paths: image files to read (PaddleHub's paths=[...]); their results follow those of images.
            use_gpu: PaddleHub's flag; the device is chosen at load (device="gpu"), this only checks it.
            output_dir: folder for the drawn images; with None (always over HTTP) nothing is written and
                each drawing is returned as "visualization" (base64 JPEG).
            visualization: also draw each image with its boxes: written under output_dir, its path
                returned as save_path.
            box_thresh: minimum mean text probability inside a box (0-1); lower finds fainter text.
            det_db_unclip_ratio: how far each detected text kernel is grown back into a line box.

        Returns one {"save_path": str, "data": [[[x, y] x4], ...], "scores": [float, ...]} per image;
        points run top-left, top-right, bottom-right, bottom-left, in the image's pixels.
        """
        check_use_gpu(use_gpu, self.device, self.name)
        params = db_params(box_thresh, det_db_unclip_ratio)
        visualization = check_bool(visualization, "visualization")
        folder = check_output_dir(output_dir) if visualization else None
        items = imagelib.gather(images, paths)
        arrays = imagelib.load_all(items, self.max_pixels)
        results = []
        for index, ((raw, _), array, found) in enumerate(zip(items, arrays, self.detect_arrays(arrays, params))):
            result = {"save_path": "", "data": [box_list(q) for q in found.boxes],
                      "scores": [float(s) for s in found.scores]}
            if visualization:
                result.update(draw.keep(draw.draw_boxes(array, found.boxes), folder, stem_of(raw, index)))
            results.append(result)
        return results

    def detect_arrays(self, arrays: Sequence[np.ndarray], params: DBParams = DBParams()) -> list[Detection]:
        """Detections of BGR uint8 arrays (already checked), with float32 boxes: for other modules."""
        return [self.detector.detect(array, params) for array in arrays]

    @classmethod
    def sample_input(cls) -> dict:
        from .samples import sample_image

        return {"images": [sample_image()]}
