"""DarknetYolo: the hub module behind every Darknet-format YOLO detector of this package.

The network comes from the module's Darknet cfg; its weights are converted once (cached_build) from
the .weights file into safetensors in this package's names, then exported once into an inference
program, which predictions run (paddle.inference: oneDNN on the CPU, the GPU with device="gpu").
Images are letterboxed to the cfg's input size, so every batch has one shape and the engine's
kernels are compiled once; a last, short batch is padded to batch_size for the same reason.
"""
from __future__ import annotations

import tempfile
import threading
import warnings
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

import hubcore
from hubcore.errors import ArtifactError, InputError, WeightsNotPublished

from . import images as imagelib
from .letterbox import Frame, letterbox, to_original
from .nms import Detections, NMSParams, suppress
from .options import check_bool, check_count, check_fraction, check_output_dir, check_threads, check_use_gpu
from .yolo_decode import Head, decode_heads

WEIGHTS_FILE = "model.safetensors"
CONVERT_VERSION = "1"  # bump when the conversion or the network's names change
EXPORT_VERSION = "1"  # bump when the exported program changes
PREDICTORS_KEPT = 2  # batch 1 and one batched size stay fast; see predictor()


class DarknetYolo(hubcore.Module):
    """A YOLO detector from a Darknet cfg + .weights. Init args: device ("cpu", "gpu", "gpu:N"),
    threads (CPU math threads, default all), mkldnn (oneDNN on the CPU), max_pixels (larger images
    are refused), iou_thresh (NMS overlap above which the weaker box of a class is dropped),
    pretrained (False: random weights, for training from scratch or timing)."""

    # Artifacts the converted weights and the program are derived from (their sha256 keys the cache).
    weight_inputs: ClassVar[tuple[str, ...]] = ("weights", "cfg")
    max_batch: ClassVar[int] = 64  # bounds a call's memory: activations grow with batch x input size

    def __init__(self, device: str = "cpu", threads: int | None = None, mkldnn: bool = True,
                 max_pixels: int = imagelib.DEFAULT_MAX_PIXELS, iou_thresh: float = 0.45,
                 pretrained: bool = True) -> None:
        from hubcore.inference import parse_device

        if not isinstance(device, str):
            raise InputError(f"device: expected 'cpu', 'gpu' or 'gpu:N', got {device!r}")
        kind, index = parse_device(device)
        self.device = "cpu" if kind == "cpu" else f"gpu:{index}"
        self.threads = check_threads(threads)
        self.mkldnn = check_bool(mkldnn, "mkldnn")
        self.max_pixels = check_count(max_pixels, "max_pixels", upper=10**10)
        self.iou_thresh = check_fraction(iou_thresh, "iou_thresh")
        self.random_weights = not check_bool(pretrained, "pretrained")
        if self.random_weights:
            from hubcore.weights import RandomWeightsWarning

            warnings.warn(f"{self.name}: constructed with pretrained=False, so its weights are random; use it to "
                          f"train from scratch (module.context(trainable=True)) or to time it, not for predictions",
                          RandomWeightsWarning, stacklevel=2)
        self._random_program: Any = None  # a TemporaryDirectory holding the random network's program
        self._lock = threading.Lock()
        self._predictors: dict[int, Any] = {}  # batch size -> predictor, least recently used first

    # -- the PaddleHub interface ------------------------------------------------------------------
    @hubcore.serving(batch="images", default=True)
    def object_detection(self, images: list[hubcore.Image] = None, paths: list[hubcore.FilePath] | None = None,
                         batch_size: int = 1, use_gpu: bool = False,
                         output_dir: hubcore.OutputDir = "detection_result", score_thresh: float = 0.5,
                         visualization: bool = False) -> list[dict]:
        """Find the objects in each image: their boxes, class labels and confidences.

        Args:
            images: the images; in Python each may be a numpy array (HxWx3 BGR, as cv2.imread gives), encoded bytes, a PIL image or a file path.
            paths: image files to read (PaddleHub's paths=[...]); their results follow those of images.
            batch_size: images per network run (1-64; 1-16 for the 608x608 networks).
            use_gpu: PaddleHub's flag; the device is chosen at load (device="gpu"), this only checks it.
            output_dir: folder for the drawn images (visualization=True); with None (always over HTTP)
                nothing is written and each drawing is returned as "visualization" (base64 PNG).
            score_thresh: minimum confidence (objectness x class probability, 0-1) of a returned box.
            visualization: also draw each image with its boxes, labels and scores: a PNG written
                under output_dir, its path returned as save_path.

        Returns one {"data": [{"label", "confidence", "left", "top", "right", "bottom"}], "save_path"}
        per image, boxes best first, corners in the image's pixels.
        """
        check_use_gpu(use_gpu, self.device, self.name)
        batch_size = check_count(batch_size, "batch_size", upper=self.max_batch)
        score_thresh = check_fraction(score_thresh, "score_thresh")
        visualization = check_bool(visualization, "visualization")
        folder = check_output_dir(output_dir) if visualization else None
        items = imagelib.gather(images, paths)
        arrays = [imagelib.load(image, where, self.max_pixels) for image, where in items]
        found = self.detect_arrays(arrays, score_thresh=score_thresh, batch_size=batch_size)
        return [self._result(raw, index, rgb, dets, visualization, folder)
                for index, ((raw, _), rgb, dets) in enumerate(zip(items, arrays, found))]

    def _result(self, raw: Any, index: int, rgb: np.ndarray, dets: Detections, visualization: bool,
                folder: Path | None) -> dict:
        labels = self.labels
        result: dict = {"data": [{"label": labels[int(c)], "confidence": float(s), "left": float(b[0]),
                                  "top": float(b[1]), "right": float(b[2]), "bottom": float(b[3])}
                                 for b, s, c in zip(dets.boxes, dets.scores, dets.classes)],
                        "save_path": ""}
        if visualization:
            from hubcore.imaging import image_stem, png_base64, png_bytes, save_png

            from .draw import draw_detections

            picture = draw_detections(rgb, dets, labels)
            if folder is None:
                result["visualization"] = png_base64(picture)
            else:
                try:
                    result["save_path"] = save_png(png_bytes(picture), folder, image_stem(raw, index))
                except OSError as exc:
                    raise InputError(f"output_dir: cannot write the drawing into {str(folder)!r} ({exc}); pass a "
                                     f"writable folder") from None
        return result

    # -- detection on arrays (for other code and the benchmarks) ----------------------------------
    def detect_arrays(self, arrays: Sequence[np.ndarray], score_thresh: float = 0.5,
                      batch_size: int = 1) -> list[Detections]:
        """Detections of HxWx3 uint8 RGB arrays, boxes in each array's pixels."""
        size = self.input_size
        params = NMSParams(score_thresh=score_thresh, iou_thresh=self.iou_thresh)
        # never larger than the call: a short last batch is padded, but one image with batch_size=64
        # must not cost 64 network runs
        batch_size = max(1, min(batch_size, len(arrays)))
        out: list[Detections] = []
        for start in range(0, len(arrays), batch_size):
            chunk = arrays[start:start + batch_size]
            boxed = [letterbox(rgb, size) for rgb in chunk]
            batch = np.zeros((batch_size, 3, size[1], size[0]), np.float32)
            batch[:len(chunk)] = [b[0] for b in boxed]
            outputs = self.predictor(batch_size).run(batch)
            out += self.postprocess([o[:len(chunk)] for o in outputs], [b[1] for b in boxed], params)
        return out

    def postprocess(self, outputs: list[np.ndarray], frames: list[Frame], params: NMSParams) -> list[Detections]:
        """Raw head outputs of a batch -> each image's detections in its own pixels."""
        boxes, scores = decode_heads(outputs, self.heads, self.input_size)
        found = []
        for image_boxes, image_scores, frame in zip(boxes, scores, frames):
            kept = suppress(image_boxes, image_scores, params)
            found.append(Detections(to_original(kept.boxes, frame), kept.scores, kept.classes))
        return found

    # -- network, weights, program ----------------------------------------------------------------
    @cached_property
    def config(self) -> Any:
        from hubcore.formats.darknet import parse_cfg

        return parse_cfg(self.artifact("cfg"))

    @property
    def input_size(self) -> tuple[int, int]:
        return self.config.width, self.config.height

    @cached_property
    def heads(self) -> list[Head]:
        from .network import yolo_heads

        return yolo_heads(self.config)

    def label_names(self) -> tuple[list[str], str]:
        """(class names in the network's order, where they come from): the labels artifact by default."""
        path = self.artifact("labels")
        return [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()], str(path)

    @cached_property
    def labels(self) -> list[str]:
        names, source = self.label_names()
        classes = self.heads[0].classes
        if len(names) != classes:
            raise ArtifactError(f"{source} has {len(names)} class names but the network has {classes} classes; "
                                f"run `hub cache clear {self.name}` and load the module again")
        return names

    def build_network(self) -> Any:
        """A fresh network of this module's architecture (random weights)."""
        from .network import DarknetNetwork

        return DarknetNetwork(self.config)

    def weights_file(self) -> Path:
        """The weights as safetensors in this package's names, converted once from the .weights file."""
        try:
            folder = self.cached_build("paddle-weights", self._convert, inputs=self.weight_inputs,
                                       builder_version=CONVERT_VERSION)
        except WeightsNotPublished as exc:
            raise WeightsNotPublished(
                f"{self.name}: no pretrained weights are published for this network, so it cannot detect yet. "
                f"Provide a Darknet .weights file made for its cfg (for the COCO YOLOv3, Darknet's own "
                f"yolov3.weights) with `hub download {self.name} --artifact weights --from FILE` (or serve it at "
                f"$HUB_MIRROR/modules/{self.name}/{self.version}/weights and set HUB_MIRROR); to train from scratch "
                f"construct it with pretrained=False. Details: {exc}") from None
        return folder / WEIGHTS_FILE

    def _convert(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        from hubcore.formats.darknet import read_weights

        from .network import state_from_darknet

        _, convs = read_weights(self.artifact("weights"), self.config)
        save_file(state_from_darknet(convs), str(folder / WEIGHTS_FILE))

    def pretrained_network(self) -> Any:
        """The network with this module's weights loaded (random ones with pretrained=False), in eval mode."""
        if self.random_weights:
            net = self.build_network()
        else:
            from hubcore.weights import make_network

            net = make_network(self.build_network, self.weights_file(), what=f"{self.name} weights")
        net.eval()
        return net

    def program_dir(self) -> Path:
        """Folder of the exported inference program (built once and cached; per instance for random weights)."""
        import paddle

        if self.random_weights:
            if self._random_program is None:
                self._random_program = tempfile.TemporaryDirectory(prefix=f"{self.name}-random-")
                self._export(Path(self._random_program.name))
            return Path(self._random_program.name)
        return self.cached_build(f"inference-paddle{paddle.__version__}", self._export, inputs=self.weight_inputs,
                                 builder_version=EXPORT_VERSION)

    def _export(self, folder: Path) -> None:
        from hubcore.inference import export_layer

        width, height = self.input_size
        export_layer(self.pretrained_network(), [([None, 3, height, width], "float32", "image")], folder)

    def predictor(self, batch_size: int = 1) -> Any:
        """The inference predictor for one batch size.

        One predictor per size: fed several sizes in turn, one predictor runs a batch of 8 about 30%
        slower (its buffers and kernels are re-laid for each shape). Each holds a copy of the
        weights, so only the PREDICTORS_KEPT most recently used are kept: a client choosing
        batch_size cannot make the server hold 64 of them.
        """
        with self._lock:
            predictor = self._predictors.pop(batch_size, None)
            if predictor is None:
                from hubcore.inference import create_predictor

                width, height = self.input_size
                shape = [batch_size, 3, height, width]
                predictor = create_predictor(self.program_dir(), device=self.device, threads=self.threads,
                                             mkldnn=self.mkldnn, trt_shapes={"image": (shape, shape, shape)})
            self._predictors[batch_size] = predictor  # now the most recent
            while len(self._predictors) > PREDICTORS_KEPT:
                self._predictors.pop(next(iter(self._predictors)))
            return predictor

    def export(self, path: str | Path) -> Path:
        """Write the network as a Paddle inference model under path (input: letterboxed RGB / 255)."""
        from hubcore.inference import export_layer

        width, height = self.input_size
        return export_layer(self.pretrained_network(), [([None, 3, height, width], "float32", "image")], Path(path))

    def context(self, trainable: bool = True) -> hubcore.Context:
        """The pretrained network for transfer learning: `backbone(image)` gives every layer's feature map.

        extra["network"] is the whole detector (its forward gives the raw head outputs), extra["heads"]
        the anchors and class counts, extra["preprocess"] letterboxes an RGB image.
        """
        from hubcore.weights import set_trainable

        net = self.pretrained_network()
        set_trainable(net, trainable)
        if trainable:
            net.train()
        width, height = self.input_size
        extra = {"module": self.name, "module_version": self.version, "network": net, "heads": self.heads,
                 "labels": list(self.labels), "input_size": (width, height), "context_args": {"trainable": trainable}}
        return hubcore.Context(backbone=_Features(net), feature_size=net.config.channels[-1],
                               preprocess=lambda rgb: letterbox(rgb, (width, height))[0], task="detection",
                               extra=extra)


def _Features(net: Any) -> Any:
    import paddle.nn as nn

    class Features(nn.Layer):
        """The network's every layer output, as a list (its feature maps)."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, image: Any) -> list[Any]:
            return self.inner.features(image)

    return Features(net)
