"""The detection modules: each names its network's artifacts in hubmodule.toml and inherits the rest."""
from __future__ import annotations

from functools import cached_property
from importlib import resources
from typing import Any

from .darknet53 import COCO_ANCHORS
from .detector import DarknetYolo

# PaddleHub's yolov3_darknet53_vehicles: its label_file.txt and the anchors its YOLOv3 head was trained with.
VEHICLE_LABELS = ("car", "truck", "bus", "motorbike", "tricycle", "carplate")
VEHICLE_ANCHORS = ((8, 9), (10, 23), (19, 15), (23, 33), (40, 25), (54, 50), (101, 80), (139, 145), (253, 224))


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
    input_side = 608
    max_batch = 16  # a 608x608 batch of 16 already needs several GB of activations
    anchors = COCO_ANCHORS

    @cached_property
    def config(self) -> Any:
        from hubcore.formats.darknet import parse_cfg_text

        from .darknet53 import yolov3_cfg

        classes = len(self.label_names()[0])
        return parse_cfg_text(yolov3_cfg(classes, self.input_side, self.anchors),
                              f"{self.name} (hubmod_detection.darknet53)")

    def label_names(self) -> tuple[list[str], str]:
        path = resources.files(__package__).joinpath("data", "coco_labels.txt")
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()], str(path)

    @classmethod
    def sample_input(cls) -> dict:
        from .samples import sample_image

        return {"images": [sample_image()], "score_thresh": 0.3}


class Yolov3Darknet53Pedestrian(Yolov3Darknet53Coco2017):
    """PaddleHub's pedestrian detector: YOLOv3 DarkNet-53, one class, COCO anchors, 608x608."""

    def label_names(self) -> tuple[list[str], str]:
        return ["pedestrian"], "PaddleHub's yolov3_darknet53_pedestrian label list"


class Yolov3Darknet53Vehicles(Yolov3Darknet53Coco2017):
    """PaddleHub's vehicle detector: YOLOv3 DarkNet-53, PaddleHub's six labels and its own anchors, 608x608."""

    anchors = VEHICLE_ANCHORS

    def label_names(self) -> tuple[list[str], str]:
        return list(VEHICLE_LABELS), "PaddleHub's yolov3_darknet53_vehicles label_file.txt"
