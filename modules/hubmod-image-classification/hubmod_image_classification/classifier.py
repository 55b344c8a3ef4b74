"""ImageClassifier: the hub module behind every classifier in this package.

Prediction runs an exported inference program (paddle.inference, oneDNN on the CPU), built once
per module version and weights and cached by the hub; eager paddle code runs only for fine-tuning
and for heads the caller made with label_list=[...].
"""
from __future__ import annotations

import threading
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

import hubcore
from hubcore.errors import InputError, WeightsNotPublished
from hubcore.weights import set_trainable

from .configs import ClassifierConfig
from .images import DEFAULT_MAX_PIXELS, Transform, as_image_list, check_color, to_pil

WEIGHTS_ARTIFACT = "weights"
WEIGHTS_FILE = "model.safetensors"
EXPORT_VERSION = "1"  # bump when the exported program changes shape or contents


class ImageClassifier(hubcore.Module):
    """An image classifier: `classification(images=[...], top_k=5)` gives class names and scores."""

    config: ClassVar[ClassifierConfig]

    def __init__(self, label_list: list[str] | None = None, device: str | None = None, threads: int | None = None,
                 batch_size: int = 8, max_pixels: int = DEFAULT_MAX_PIXELS, precision: str = "fp32",
                 tensorrt: bool = False) -> None:
        """
        Args:
            label_list: class names for a new, untrained head (for fine-tuning), replacing the pretrained one.
            device: "cpu", "gpu", "gpu:N"; default: the GPU when paddle sees one, else the CPU.
            threads: CPU threads for inference (default: all CPUs this process may use).
            batch_size: images per inference run when classifying many at once.
            max_pixels: larger images are refused with an InputError before decoding.
            precision: "fp32", or "fp16" on the GPU.
            tensorrt: use TensorRT on the GPU (needs a paddle build with TensorRT).
        """
        if label_list is not None:
            if not isinstance(label_list, (list, tuple)) or not label_list or \
                    not all(isinstance(x, str) and x for x in label_list):
                raise InputError("label_list: expected a non-empty list of class names (strings)")
            if len(set(label_list)) != len(label_list):
                raise InputError("label_list: class names must be unique")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size={batch_size!r}: expected a positive integer")
        if not isinstance(max_pixels, int) or max_pixels < 1:
            raise InputError(f"max_pixels={max_pixels!r}: expected a positive integer")
        if device is not None:
            from hubcore.inference import parse_device

            parse_device(device)
        if precision not in ("fp32", "fp16"):
            raise InputError(f"precision={precision!r}: use 'fp32' or 'fp16' (GPU only)")
        self.label_list = list(label_list) if label_list is not None else None
        self.device = device
        self.threads = threads
        self.batch_size = batch_size
        self.max_pixels = max_pixels
        self.precision = precision
        self.tensorrt = tensorrt
        self.transform = Transform(self.config.preprocess)
        self._lock = threading.Lock()
        self._predictor: Any = None
        self._net: Any = None  # eager network, made for fine-tuning or a custom head

    @classmethod
    def sample_input(cls) -> dict:
        """A small example request for `hub check` (a synthetic 48x64 gradient image)."""
        y, x = np.mgrid[0:48, 0:64]
        image = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1).astype(np.uint8)
        return {"images": [image], "top_k": 3}

    # -- serving ----------------------------------------------------------------------------------
    @hubcore.serving(batch="images", default=True)
    def classification(self, images: list[hubcore.Image], top_k: int = 5, color: str = "RGB") -> list[list[dict]]:
        """Classify images; for each, the top_k classes with their probabilities, best first.

        Args:
            images: images to classify: file paths (Python only), encoded bytes (base64 over HTTP), numpy HxWxC uint8 arrays or PIL images.
            top_k: how many classes to return per image.
            color: channel order of numpy arrays: "RGB" (PIL, scikit-image) or "BGR" (cv2.imread); files and bytes are decoded as RGB.
        """
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise InputError(f"top_k={top_k!r}: expected a positive integer")
        batch = self.preprocess(images, color=color)
        if batch.shape[0] == 0:
            return []
        probs = self.predict_batch(batch)
        return self.top_classes(probs, top_k)

    def preprocess(self, images: Any, color: str = "RGB") -> np.ndarray:
        """Images (one or a list) -> float32 NCHW batch, resized, cropped and normalised for this network."""
        color = check_color(color)
        items = as_image_list(images)
        short = self.config.preprocess.resize_short
        crops = [self.transform.crop(to_pil(im, color=color, max_pixels=self.max_pixels, where=f"images[{i}]",
                                            draft_size=short))
                 for i, im in enumerate(items)]
        if not crops:
            size = self.config.preprocess.crop_size
            return np.zeros((0, 3, size, size), np.float32)
        return self.transform.normalise(crops)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities [N, num_classes] for a preprocessed float32 NCHW batch."""
        size = self.config.preprocess.crop_size
        if not isinstance(batch, np.ndarray) or batch.ndim != 4 or batch.shape[1:] != (3, size, size):
            raise InputError(f"batch: expected a float32 array of shape [N, 3, {size}, {size}] (see preprocess())")
        batch = batch.astype(np.float32, copy=False)
        outputs = [self._logits(batch[i:i + self.batch_size]) for i in range(0, batch.shape[0], self.batch_size)]
        return _softmax(np.concatenate(outputs))

    def top_classes(self, probs: np.ndarray, top_k: int) -> list[list[dict]]:
        labels = self.labels
        k = min(top_k, probs.shape[1])
        best = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return [[{"label": labels[j], "score": float(p[j]), "class_id": int(j)} for j in row]
                for p, row in zip(probs, best)]

    # -- labels -----------------------------------------------------------------------------------
    @cached_property
    def labels(self) -> list[str]:
        """Class names, index = class id."""
        if self.label_list is not None:
            return self.label_list
        if self.config.labels:
            text = resources.files(__package__).joinpath("data", self.config.labels).read_text(encoding="utf-8")
            return [line for line in text.splitlines() if line]
        from .weights import read_labels

        found = read_labels(self.weights_file())
        if found and len(found) == self.config.num_classes:
            return found
        return [f"class_{i}" for i in range(self.config.num_classes)]

    @property
    def num_classes(self) -> int:
        return len(self.label_list) if self.label_list is not None else self.config.num_classes

    # -- weights and programs ---------------------------------------------------------------------
    def weights_file(self) -> Path:
        """The module's weights as a safetensors file in this package's names (converted once if needed)."""
        if self.config.converter:
            folder = self.cached_build("paddle-weights", self._convert_weights, inputs=(WEIGHTS_ARTIFACT,),
                                       builder_version=_converter_version())
            return folder / WEIGHTS_FILE
        try:
            return self.artifact(WEIGHTS_ARTIFACT)
        except WeightsNotPublished as exc:
            raise WeightsNotPublished(
                f"{self.name}: no pretrained weights are published for this {self.config.arch} network, so it "
                f"cannot classify yet. Provide a safetensors file in this module's parameter names with "
                f"`hub download {self.name} --artifact {WEIGHTS_ARTIFACT} --from FILE` (or serve it at "
                f"$HUB_MIRROR/modules/{self.name}/{self.version}/{WEIGHTS_ARTIFACT} and set HUB_MIRROR); to "
                f"train from scratch use context(trainable=True, pretrained=False). Details: {exc}") from None

    def _convert_weights(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        from hubcore.formats.torch_state import load_state_dict

        from .convert import convert_state_dict
        from .weights import state_shapes

        source = load_state_dict(self.artifact(WEIGHTS_ARTIFACT))
        if "state_dict" in source and isinstance(source["state_dict"], dict):
            source = source["state_dict"]
        net = self.build_network(self.config.num_classes)
        save_file(convert_state_dict(self.config.converter, source, state_shapes(net)), str(folder / WEIGHTS_FILE))

    def build_network(self, num_classes: int | None = None) -> Any:
        """A fresh network of this module's architecture (random weights)."""
        from .archs import build

        return build(self.config.arch, num_classes or self.config.num_classes)

    def pretrained_network(self) -> Any:
        """The network with this module's weights loaded, in eval mode."""
        from .weights import load_into, read_weights

        net = self.build_network()
        path = self.weights_file()
        arrays, _ = read_weights(path)
        load_into(net, arrays, what=f"weights file {path}")
        net.eval()
        return net

    def program_dir(self) -> Path:
        """Folder of the exported inference program for the pretrained weights (built once, cached)."""
        import paddle

        return self.cached_build(f"inference-paddle{paddle.__version__}", self._export_pretrained,
                                 inputs=(WEIGHTS_ARTIFACT,), builder_version=EXPORT_VERSION)

    def _export_pretrained(self, folder: Path) -> None:
        from hubcore.inference import export_layer

        export_layer(self.pretrained_network(), self._input_spec(), folder)

    def _input_spec(self) -> list[tuple]:
        size = self.config.preprocess.crop_size
        return [([None, 3, size, size], "float32", "image")]

    def predictor(self) -> Any:
        """The paddle.inference predictor of the pretrained program (created on first use)."""
        with self._lock:
            if self._predictor is None:
                from hubcore.inference import create_predictor

                size = self.config.preprocess.crop_size
                most = [self.batch_size, 3, size, size]
                self._predictor = create_predictor(
                    self.program_dir(), device=self.device, threads=self.threads, precision=self.precision,
                    tensorrt=self.tensorrt, trt_shapes={"image": ([1, 3, size, size], most, most)})
            return self._predictor

    def _logits(self, batch: np.ndarray) -> np.ndarray:
        if self.label_list is None:
            return self.predictor().run(batch)[0]
        import paddle

        net = self._custom_network()
        with paddle.no_grad():
            was_training = net.training
            net.eval()
            try:
                return net(paddle.to_tensor(batch)).numpy()
            finally:
                if was_training:
                    net.train()

    def _custom_network(self, pretrained: bool = True) -> Any:
        with self._lock:
            if self._net is None:
                self._net = self._network_for_training(pretrained)
            return self._net

    def _network_for_training(self, pretrained: bool) -> Any:
        net = self.pretrained_network() if pretrained else self.build_network()
        if self.label_list is not None:
            net.reset_head(len(self.label_list))
        return net

    # -- fine-tuning and export -------------------------------------------------------------------
    def context(self, trainable: bool = True, pretrained: bool = True) -> hubcore.Context:
        """Backbone (images -> features), feature size and preprocessing, for fine-tuning.

        The backbone and `extra["head"]` (a fresh head when label_list was given) are parts of
        `extra["network"]`, the whole classifier, which this module then uses for predictions.
        pretrained=False starts from random weights (the only choice where none are published).
        """
        with self._lock:
            if self._net is None:
                self._net = self._network_for_training(pretrained)
            net = self._net
        from .archs.base import FeatureExtractor

        backbone = FeatureExtractor(net)
        set_trainable(backbone, trainable)
        if trainable:
            net.train()
        c = self.config.preprocess
        extra = {"module": self.name, "module_version": self.version, "input": "image",
                 "context_args": {"trainable": trainable, "pretrained": pretrained},
                 "network": net, "head": net.head, "num_classes": self.num_classes, "label_list": list(self.labels)
                 if self.label_list is not None or self.config.labels else None, "input_size": c.crop_size,
                 "mean": c.mean, "std": c.std}
        return hubcore.Context(backbone=backbone, feature_size=net.feature_size, preprocess=self.preprocess,
                               task="classification", extra=extra)

    def export(self, path: str | Path) -> Path:
        """Write the classifier (with a custom head, if any) as a Paddle inference model under path."""
        from hubcore.inference import export_layer

        net = self._custom_network() if self.label_list is not None else (self._net or self.pretrained_network())
        return export_layer(net, self._input_spec(), Path(path))


def _converter_version() -> str:
    from .convert import CONVERTER_VERSION

    return CONVERTER_VERSION


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z
