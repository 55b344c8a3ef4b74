"""deeplabv3p_xception65_humanseg: portrait segmentation as an alpha matte. No pretrained weights are published."""
from __future__ import annotations

from typing import Any

import numpy as np

import hubcore

from hubcore.imaging import image_stem, png_base64, png_bytes, save_png
from hubcore.weights import set_trainable
from .segbase import SegmentationModule

MEAN_BGR = np.array([104.008, 116.669, 122.675], dtype=np.float32)  # PaddleSeg humanseg: mean only, no std
ALPHA_THRESHOLD = 120  # PaddleHub's post-process: person probability * 255 below this becomes transparent


def _resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of [C, H, W] with half-pixel centres (cv2.resize's INTER_LINEAR)."""
    import paddle
    import paddle.nn.functional as F

    x = paddle.to_tensor(array[None].astype(np.float32))
    return F.interpolate(x, size=[height, width], mode="bilinear", align_corners=False, align_mode=0).numpy()[0]


def alpha_from_probability(person: np.ndarray) -> np.ndarray:
    """PaddleHub's mapping of the person probability to an alpha value: 0 below the threshold, then linear."""
    alpha = (person * 255.0 - ALPHA_THRESHOLD).clip(min=0) * 255.0 / (255 - ALPHA_THRESHOLD)
    return alpha.clip(0, 255).round().astype(np.uint8)


class DeepLabV3pXception65HumanSeg(SegmentationModule):
    """Human (portrait) segmentation: an alpha value per pixel, 255 = person, 0 = background."""

    weights_artifact = "deeplabv3p_xception65_humanseg_weights"
    default_input_size = 513

    @classmethod
    def build_network(cls) -> Any:
        from .deeplabv3p_net import DeepLabV3PlusXception

        return DeepLabV3PlusXception(num_classes=2)

    def _preprocess(self, rgb: np.ndarray) -> np.ndarray:
        bgr = rgb[:, :, ::-1].astype(np.float32).transpose(2, 0, 1)
        return (_resize(bgr, self.input_size, self.input_size) - MEAN_BGR[:, None, None]).astype(np.float32)

    @hubcore.serving(default=True, batch="images")
    def segmentation(self, images: list[hubcore.Image] = (), visualization: bool = False,
                     output_dir: hubcore.OutputDir = "humanseg_output", batch_size: int = 1,
                     **legacy: Any) -> list[dict]:
        """Separate people from the background; one alpha matte per image.

        Each result: "data", the alpha value (0-255) of every pixel at the original size; "path",
        the input path when one was given; with visualization, "save_path" (an RGBA PNG: the photo
        with that alpha) and "image" (the same PNG, base64); with output_dir None (always over
        HTTP) nothing is written and only "image" is given.

        Args:
            images: photos (file paths, encoded bytes, PIL images or BGR numpy arrays).
            visualization: also write the cut-out person as an RGBA PNG to output_dir.
            output_dir: folder for the visualization PNGs; None keeps them in the result only (base64).
            batch_size: images per forward pass.
        """
        items = self._inputs(images, legacy)
        rgbs = self._decode_all(items)
        probabilities = self._forward([self._preprocess(rgb) for rgb in rgbs], batch_size)
        results = []
        for i, (item, rgb, prob) in enumerate(zip(items, rgbs, probabilities)):
            h, w = rgb.shape[:2]
            alpha = alpha_from_probability(_resize(prob[1:2], h, w)[0])
            result = {"data": alpha.tolist(), "path": str(item) if isinstance(item, str) else None}
            if visualization:
                rgba = np.concatenate([rgb, alpha[:, :, None]], axis=2)
                if output_dir is not None:
                    result["save_path"] = save_png(png_bytes(rgba), output_dir, image_stem(item, i))
                result["image"] = png_base64(rgba)
            results.append(result)
        return results

    def context(self, trainable: bool = True) -> hubcore.Context:
        """The DeepLabv3+ network for fine-tuning; in train mode it returns 2-class logits at input size."""
        import paddle.nn.functional as F

        net = set_trainable(self.network, trainable)

        def preprocess(images: list) -> np.ndarray:
            return np.stack([self._preprocess(rgb) for rgb in self._decode_all(list(images))])

        def loss(logits: Any, labels: Any) -> Any:
            return F.cross_entropy(logits, labels, axis=1, ignore_index=255)

        return hubcore.Context(backbone=net, feature_size=2, preprocess=preprocess, task="segmentation",
                               extra={"loss": loss, "input_size": self.input_size,
                                      "random_weights": self.random_weights})

    def export(self, path: str) -> Any:
        """Write a Paddle inference model (input: [N, 3, S, S] BGR minus mean; output: class probabilities)."""
        from hubcore.inference import export_layer

        return export_layer(self.network, [([None, 3, self.input_size, self.input_size], "float32", "image")], path)
