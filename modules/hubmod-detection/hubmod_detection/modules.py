"""The detection modules: each names its network's artifacts in hubmodule.toml and inherits the rest."""
from __future__ import annotations

from .detector import DarknetYolo


class Yolov3TinyCoco(DarknetYolo):
    """YOLOv3-tiny, 80 COCO classes, 416x416 input: the official Darknet release weights."""

    @classmethod
    def sample_input(cls) -> dict:
        from .samples import sample_image

        return {"images": [sample_image()], "score_thresh": 0.3}
