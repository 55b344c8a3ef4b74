"""A paddle network built from a Darknet cfg, layer for layer, with parameter names of its own.

Layer i of the cfg is `layers.i`; a convolutional one holds `conv` (and `bn` when batch-normalised).
The forward pass returns the inputs of the [yolo] layers (the raw head outputs), decoded outside
the network (see yolo_decode.py), so the exported program stays a plain feature extractor.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from hubcore.errors import ArtifactError
from hubcore.formats.darknet import ConvWeights, DarknetConfig, Layer

from .yolo_decode import Head

BN_EPSILON = 1e-5  # Darknet's normalize_cpu adds .00001 to the variance


class ConvBlock(nn.Layer):
    def __init__(self, in_channels: int, layer: Layer) -> None:
        super().__init__()
        size = layer.get_int("size", 1)
        padding = size // 2 if layer.get_int("pad", 0) else layer.get_int("padding", 0)
        self.batch_norm = bool(layer.get_int("batch_normalize", 0))
        self.conv = nn.Conv2D(in_channels, layer.get_int("filters"), size, stride=layer.get_int("stride", 1),
                              padding=padding, groups=layer.get_int("groups", 1), bias_attr=not self.batch_norm)
        self.bn = nn.BatchNorm2D(layer.get_int("filters"), epsilon=BN_EPSILON) if self.batch_norm else None
        self.activation = layer.get_str("activation", "logistic")

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return _activate(x, self.activation)


def _activate(x: Any, activation: str) -> Any:
    if activation == "leaky":
        return F.leaky_relu(x, 0.1)
    if activation == "relu":
        return F.relu(x)
    if activation == "logistic":
        return F.sigmoid(x)
    if activation == "mish":
        return F.mish(x)
    if activation == "swish":
        return F.swish(x)
    return x  # linear


class MaxPool(nn.Layer):
    """Darknet's max-pool: size-1 padding split left/top (floor) and right/bottom, as the edge pixels
    (Darknet skips the outside; replicating the edge gives the same maximum)."""

    def __init__(self, layer: Layer, height: int, width: int) -> None:
        super().__init__()
        self.size = layer.get_int("size", layer.get_int("stride", 1))
        self.stride = layer.get_int("stride", 1)
        padding = layer.get_int("padding", self.size - 1)
        self.out_h = (height + padding - self.size) // self.stride + 1
        self.out_w = (width + padding - self.size) // self.stride + 1
        left = padding // 2
        right = max(0, (self.out_w - 1) * self.stride + self.size - width - left)
        bottom = max(0, (self.out_h - 1) * self.stride + self.size - height - left)
        self.pads = [left, right, left, bottom]

    def forward(self, x: Any) -> Any:
        if any(self.pads):
            x = F.pad(x, self.pads, mode="replicate", data_format="NCHW")
        return F.max_pool2d(x, self.size, self.stride)


class Upsample(nn.Layer):
    """Nearest-neighbour upsampling by an integer stride, as each pixel repeated in a stride x stride block.

    Written with reshape and expand, not F.interpolate: paddle 3.3's oneDNN executor cannot run
    the exported nearest_interp (its scale attribute, a list of doubles, is unsupported there)."""

    def __init__(self, stride: int, channels: int, height: int, width: int) -> None:
        super().__init__()
        self.stride, self.channels, self.height, self.width = stride, channels, height, width

    def forward(self, x: Any) -> Any:
        s, c, h, w = self.stride, self.channels, self.height, self.width
        x = paddle.reshape(x, [-1, c, h, 1, w, 1])
        x = paddle.expand(x, [x.shape[0], c, h, s, w, s])
        return paddle.reshape(x, [-1, c, h * s, w * s])


class Passthrough(nn.Layer):
    """Route, shortcut and yolo layers: combined in DarknetNetwork.forward, nothing to hold."""

    def forward(self, x: Any) -> Any:
        return x


class DarknetNetwork(nn.Layer):
    def __init__(self, config: DarknetConfig) -> None:
        super().__init__()
        self.config = config
        self.kinds = [layer.type for layer in config.layers]
        self.sources = [config.route_sources(l) if l.type in ("route", "shortcut") else [] for l in config.layers]
        self.activations = [l.get_str("activation", "linear") for l in config.layers]
        blocks: list[nn.Layer] = []
        height, width = config.height, config.width
        sizes: list[tuple[int, int]] = []
        for layer in config.layers:
            before = config.input_channels(layer.index)
            if layer.type == "convolutional":
                blocks.append(ConvBlock(before, layer))
                size, stride = layer.get_int("size", 1), layer.get_int("stride", 1)
                pad = size // 2 if layer.get_int("pad", 0) else layer.get_int("padding", 0)
                height, width = (height + 2 * pad - size) // stride + 1, (width + 2 * pad - size) // stride + 1
            elif layer.type == "maxpool":
                pool = MaxPool(layer, height, width)
                blocks.append(pool)
                height, width = pool.out_h, pool.out_w
            elif layer.type == "upsample":
                stride = layer.get_int("stride", 2)
                blocks.append(Upsample(stride, before, height, width))
                height, width = height * stride, width * stride
            else:
                if layer.type == "route":
                    height, width = sizes[self.sources[layer.index][0]]
                blocks.append(Passthrough())
            sizes.append((height, width))
        self.layers = nn.LayerList(blocks)
        self.heads = yolo_heads(config)

    def forward(self, image: Any) -> list[Any]:
        return self.run(image)[1]

    def features(self, image: Any) -> list[Any]:
        """Every layer's output (for transfer learning: the backbone's feature maps)."""
        return self.run(image)[0]

    def run(self, image: Any) -> tuple[list[Any], list[Any]]:
        """(every layer's output, the [yolo] layers' inputs)."""
        outputs: list[Any] = []
        heads: list[Any] = []
        x = image
        for index, (kind, block) in enumerate(zip(self.kinds, self.layers)):
            if kind == "route":
                parts = [outputs[s] for s in self.sources[index]]
                x = parts[0] if len(parts) == 1 else paddle.concat(parts, axis=1)
            elif kind == "shortcut":
                x = _activate(x + outputs[self.sources[index][0]], self.activations[index])
            elif kind == "yolo":
                heads.append(x)
            else:
                x = block(x)
            outputs.append(x)
        return outputs, heads


def yolo_heads(config: DarknetConfig) -> list[Head]:
    """The [yolo] layers' anchors (those of their mask) and class counts, in output order."""
    heads = []
    for layer in config.layers:
        if layer.type != "yolo":
            continue
        flat = layer.get_ints("anchors")
        pairs = [(float(flat[i]), float(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]
        mask = layer.get_ints("mask", list(range(len(pairs))))
        if not pairs or any(not 0 <= m < len(pairs) for m in mask):
            raise ArtifactError(f"Darknet cfg {config.path}: [yolo] layer {layer.index} (line {layer.line}) has mask "
                                f"{mask} for {len(pairs)} anchors")
        channels = config.input_channels(layer.index)
        classes = layer.get_int("classes")
        if channels != len(mask) * (5 + classes):
            raise ArtifactError(f"Darknet cfg {config.path}: [yolo] layer {layer.index} (line {layer.line}) gets "
                                f"{channels} channels, but {len(mask)} anchors x (5 + {classes} classes) = "
                                f"{len(mask) * (5 + classes)} are needed")
        heads.append(Head(tuple(pairs[m] for m in mask), classes, layer.get_float("scale_x_y", 1.0)))
    if not heads:
        raise ArtifactError(f"Darknet cfg {config.path} has no [yolo] layer, so it is not a YOLO detector")
    return heads


def state_from_darknet(convs: list[ConvWeights]) -> dict[str, np.ndarray]:
    """This network's parameter names -> arrays, from the Darknet reader's per-layer arrays."""
    out: dict[str, np.ndarray] = {}
    for conv in convs:
        prefix = f"layers.{conv.layer}"
        out[f"{prefix}.conv.weight"] = conv.weight
        if conv.bn_scale is None:
            out[f"{prefix}.conv.bias"] = conv.bias
        else:
            out[f"{prefix}.bn.weight"] = conv.bn_scale
            out[f"{prefix}.bn.bias"] = conv.bn_bias
            out[f"{prefix}.bn._mean"] = conv.bn_mean
            out[f"{prefix}.bn._variance"] = conv.bn_var
    return out
