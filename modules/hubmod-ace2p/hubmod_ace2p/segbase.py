"""What the two segmentation modules share: weights, input size, PaddleHub-style arguments, batching."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

import hubcore
from hubcore.errors import InputError

from hubcore.imaging import load_rgb
from hubcore.weights import module_network

MIN_INPUT_SIZE = 32


class SegmentationModule(hubcore.Module):
    weights_artifact: ClassVar[str]
    default_input_size: ClassVar[int]

    def __init__(self, pretrained: bool = True, input_size: int | None = None):
        size = self.default_input_size if input_size is None else input_size
        if not isinstance(size, int) or isinstance(size, bool) or size < MIN_INPUT_SIZE:
            raise InputError(f"input_size must be an integer >= {MIN_INPUT_SIZE} (default {self.default_input_size}; "
                             f"the weights were trained at that size), got {input_size!r}")
        self.input_size = size
        self.network, self.random_weights = module_network(self, self.weights_artifact, self.build_network,
                                                           pretrained)

    @classmethod
    def build_network(cls) -> Any:
        """The network with random weights: what the weights artifact fills in."""
        raise NotImplementedError

    def _inputs(self, images: Any, legacy: dict) -> list:
        """images plus PaddleHub's older paths= and data={"image": [...]} arguments, as one list."""
        paths = legacy.pop("paths", None) or []
        data = legacy.pop("data", None)
        legacy.pop("use_gpu", None)  # paddle picks the device itself (a GPU build uses the GPU)
        if legacy:
            raise InputError(f"unknown argument(s) {sorted(legacy)}; see help({type(self).__name__}.segmentation)")
        if isinstance(images, (list, tuple)):
            items = list(images)
        else:
            items = [] if images is None else [images]
        items += list(paths)
        if isinstance(data, dict):
            items += list(data.get("image") or [])
        if not items:
            raise InputError("images: give at least one image, e.g. images=[\"person.jpg\"]")
        return items

    def _forward(self, batches: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
        """Network outputs for preprocessed [3, S, S] arrays, batch_size at a time."""
        import paddle

        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        outputs: list[np.ndarray] = []
        with paddle.no_grad():
            for start in range(0, len(batches), batch_size):
                batch = paddle.to_tensor(np.stack(batches[start:start + batch_size]))
                outputs += list(self.network(batch).numpy())
        return outputs

    @staticmethod
    def _decode_all(items: list) -> list[np.ndarray]:
        return [load_rgb(img, f"images[{i}]") for i, img in enumerate(items)]

    @classmethod
    def sample_input(cls) -> dict:
        """Keyword arguments for the default signature, used by `hub check`."""
        rng = np.random.default_rng(0)
        return {"images": [rng.integers(0, 256, (96, 64, 3), dtype=np.uint8)]}
