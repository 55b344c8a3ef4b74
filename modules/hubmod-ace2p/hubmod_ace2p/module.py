"""ace2p: human parsing into the 20 LIP classes with ACE2P. No pretrained weights are published."""
from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

import hubcore

from hubcore.imaging import image_stem, png_base64, png_bytes, save_png
from hubcore.weights import set_trainable
from .lip import LIP_CLASSES, palette
from .segbase import SegmentationModule

# ACE2P's input normalisation: BGR channel order, ImageNet statistics in that order.
MEAN_BGR = np.array([0.406, 0.456, 0.485], dtype=np.float32)
STD_BGR = np.array([0.225, 0.224, 0.229], dtype=np.float32)


def _letterbox(width: int, height: int, size: int) -> tuple[float, float, float]:
    """(scale, centre x, centre y) of the affine map ACE2P's reader uses: the image centred in a
    size x size square, longer side fitted, in pixel-centre coordinates (cv2's convention)."""
    side = max(width - 1, height - 1, 1)
    return (size - 1) / side, (width - 1) / 2, (height - 1) / 2


def _affine(image: Any, out_size: tuple[int, int], scale: float, src_centre: tuple[float, float],
            dst_centre: tuple[float, float]) -> Any:
    """Resample so that dst = scale * (src - src_centre) + dst_centre (pixel centres), zeros outside."""
    from PIL import Image

    # PIL samples at pixel corners + 0.5 and wants the output->input map.
    a = 1.0 / scale
    cx = src_centre[0] + 0.5 - (dst_centre[0] + 0.5) * a
    cy = src_centre[1] + 0.5 - (dst_centre[1] + 0.5) * a
    return image.transform(out_size, Image.AFFINE, (a, 0.0, cx, 0.0, a, cy), resample=Image.BILINEAR)


class ACE2P(SegmentationModule):
    """Human parsing: each pixel labelled with one of the 20 LIP classes (hair, face, upper-clothes, ...)."""

    weights_artifact = "ace2p_weights"
    default_input_size = 473
    label_list = LIP_CLASSES
    # Used only by the training loss (first parsing head, edge head): absent from inference programs.
    training_only_parameters = ("decoder.classifier.", "edge.edge.", "edge.fuse.")

    @classmethod
    def build_network(cls) -> Any:
        from .ace2p_net import ACE2PNet

        return ACE2PNet(num_classes=len(LIP_CLASSES))

    def _preprocess(self, rgb: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float]]:
        from PIL import Image

        h, w = rgb.shape[:2]
        s = self.input_size
        scale, cx, cy = _letterbox(w, h, s)
        square = np.asarray(_affine(Image.fromarray(rgb), (s, s), scale, (cx, cy), ((s - 1) / 2, (s - 1) / 2)))
        bgr = square[:, :, ::-1].astype(np.float32) / 255.0
        return ((bgr - MEAN_BGR) / STD_BGR).transpose(2, 0, 1), (scale, cx, cy)

    def _to_image_size(self, logits: np.ndarray, width: int, height: int, geometry: tuple) -> np.ndarray:
        from PIL import Image

        scale, cx, cy = geometry
        centre = ((self.input_size - 1) / 2, (self.input_size - 1) / 2)
        # The inverse of the input map: original pixel -> square pixel, scale 1/scale.
        planes = [np.asarray(_affine(Image.fromarray(plane), (width, height), 1.0 / scale, centre, (cx, cy)))
                  for plane in logits.astype(np.float32)]
        return np.argmax(np.stack(planes), axis=0).astype(np.uint8)

    @hubcore.serving(default=True, batch="images")
    def segmentation(self, images: list[hubcore.Image] = (), visualization: bool = False,
                     output_dir: hubcore.OutputDir = "ace2p_output", batch_size: int = 1,
                     **legacy: Any) -> list[dict]:
        """Parse people in images into the 20 LIP classes; one result per image.

        Each result: "data", the class index of every pixel (rows of the original image's size);
        "classes", the pixel count of each class present; "path", the input path when one was
        given; with visualization, "save_path" (palette PNG of the class map, LIP colours) and
        "overlay_path" (the photo blended with those colours), plus "overlay" (that PNG, base64);
        with output_dir None (always over HTTP) nothing is written: "visualization" (the class map
        PNG, base64) and "overlay" instead.

        Args:
            images: photos of people (file paths, encoded bytes, PIL images or BGR numpy arrays).
            visualization: also write the coloured class map and an overlay PNG to output_dir.
            output_dir: folder for the visualization PNGs; None keeps them in the result (base64).
            batch_size: images per forward pass.
        """
        items = self._inputs(images, legacy)
        rgbs = self._decode_all(items)
        prepared = [self._preprocess(rgb) for rgb in rgbs]
        logits = self._forward([p[0] for p in prepared], batch_size)
        results = []
        for i, (item, rgb, (_, geometry), out) in enumerate(zip(items, rgbs, prepared, logits)):
            h, w = rgb.shape[:2]
            classes = self._to_image_size(out, w, h, geometry)
            ids, counts = np.unique(classes, return_counts=True)
            result = {
                "data": classes.tolist(),
                "classes": {LIP_CLASSES[c]: int(n) for c, n in zip(ids, counts)},
                "path": str(item) if isinstance(item, str) else None,
            }
            if visualization:
                result.update(self._visualize(item, i, rgb, classes, output_dir))
            results.append(result)
        return results

    def _visualize(self, item: Any, index: int, rgb: np.ndarray, classes: np.ndarray,
                   output_dir: str | None) -> dict:
        from PIL import Image

        colours = palette(len(LIP_CLASSES))
        mask = Image.frombytes("P", (classes.shape[1], classes.shape[0]), np.ascontiguousarray(classes).tobytes())
        mask.putpalette(colours)
        buf = io.BytesIO()
        mask.save(buf, format="PNG")  # indexed PNG: pixel values are the class ids, shown in LIP colours
        colour = np.asarray(colours, dtype=np.uint8).reshape(-1, 3)[classes]
        overlay = np.where(classes[:, :, None] > 0, 0.5 * rgb + 0.5 * colour, rgb).astype(np.uint8)
        if output_dir is None:
            return {"visualization": base64.b64encode(buf.getvalue()).decode("ascii"), "overlay": png_base64(overlay)}
        stem = image_stem(item, index)
        save_path = save_png(buf.getvalue(), output_dir, stem)
        overlay_path = save_png(png_bytes(overlay), output_dir, f"{stem}_overlay")
        return {"save_path": save_path, "overlay_path": overlay_path, "overlay": png_base64(overlay)}

    def context(self, trainable: bool = True) -> hubcore.Context:
        """The whole ACE2P network for fine-tuning (from these weights, or from scratch with pretrained=False).

        backbone: the network; in train mode it returns (parsing, fused parsing, edge) logits at input
        size, and extra["loss"](outputs, labels) is CE2P's objective (labels: [N, H, W] int64 class ids,
        255 ignored). preprocess(images) gives the [N, 3, S, S] input batch.
        """
        from .ace2p_net import ace2p_loss

        net = set_trainable(self.network, trainable)

        def preprocess(images: list) -> np.ndarray:
            return np.stack([self._preprocess(rgb)[0] for rgb in self._decode_all(list(images))])

        return hubcore.Context(
            backbone=net,
            feature_size=len(LIP_CLASSES),
            preprocess=preprocess,
            task="segmentation",
            extra={"loss": ace2p_loss, "label_list": list(LIP_CLASSES), "input_size": self.input_size,
                   "random_weights": self.random_weights},
        )

    def export(self, path: str) -> Any:
        """Write a Paddle inference model (input: [N, 3, S, S] normalised BGR; output: logits at S x S)."""
        from hubcore.inference import export_layer

        return export_layer(self.network, [([None, 3, self.input_size, self.input_size], "float32", "image")], path)
