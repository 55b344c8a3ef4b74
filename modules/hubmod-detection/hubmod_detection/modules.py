"""The detection modules: each names its network's artifacts in hubmodule.toml and inherits the rest."""
from __future__ import annotations

from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from .detector import DarknetYolo


class Yolov3TinyCoco(DarknetYolo):
    """YOLOv3-tiny, 80 COCO classes, 416x416 input: the official Darknet release weights."""

    @classmethod
    def sample_input(cls) -> dict:
        from .samples import sample_image

        return {"images": [sample_image()], "score_thresh": 0.3}


class Yolov3Darknet53Coco2017(DarknetYolo):
    """YOLOv3 with its DarkNet-53 backbone, 80 COCO classes, 608x608 input (PaddleHub's size).

    No weights are published where this hub can fetch them: Darknet's own yolov3.weights loads as it
    is (`hub download yolov3_darknet53_coco2017 --artifact weights --from yolov3.weights`)."""

    weight_inputs = ("weights",)
    classes = 80
    input_side = 608

    @cached_property
    def config(self) -> Any:
        from hubcore.formats.darknet import parse_cfg_text

        from .darknet53 import yolov3_cfg

        return parse_cfg_text(yolov3_cfg(self.classes, self.input_side), f"{self.name} (hubmod_detection.darknet53)")

    def labels_file(self) -> Path:
        return Path(str(resources.files(__package__).joinpath("data", "coco_labels.txt")))

    @classmethod
    def sample_input(cls) -> dict:
        from .samples import sample_image

        return {"images": [sample_image()], "score_thresh": 0.3}
