"""Read Darknet networks (`.cfg`) and their weights (`.weights`) into numpy arrays, without pickle.

A `.cfg` is an INI-like list of `[section]`s: the first is `[net]` (input size and training
settings), every other one is a layer, numbered from 0 in file order; `route` and `shortcut`
refer to earlier layers by absolute or negative (relative) index.

A `.weights` file is a header, then float32 values (little-endian) for every convolutional layer
in cfg order: the bias (or, with batch_normalize=1, the BatchNorm beta), then gamma, running mean
and running variance when batch-normalised, then the kernel as (filters, channels/groups, size,
size). The header is int32 major, minor, revision, then the count of images seen during training:
an int64 from version 0.2 on (as Darknet tests it: major*10+minor >= 2 and both below 1000), an
int32 before. Nothing else is stored, so the file's length must equal the header plus exactly the
floats the cfg asks for: a shorter file is truncated, a different one belongs to another cfg.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ArtifactError

# Layer types this reader (and the networks built from it) understand; anything else is refused
# rather than silently skipped, since a skipped layer shifts every later weight.
LAYER_TYPES = ("convolutional", "maxpool", "upsample", "route", "shortcut", "yolo")
MAX_CFG_BYTES = 1_000_000  # the largest published cfgs are ~30 KB; bounds what a bad file costs
MAX_LAYERS = 2_000
_ACTIVATIONS = ("leaky", "linear", "relu", "logistic", "mish", "swish")


@dataclass(frozen=True)
class Layer:
    """One cfg section: its type, its options as written, and where it was (for error messages)."""

    index: int  # -1 for [net]
    type: str
    options: dict[str, str]
    line: int

    def get_int(self, key: str, default: int | None = None) -> int:
        return int(self._value(key, default, int))

    def get_float(self, key: str, default: float | None = None) -> float:
        return float(self._value(key, default, float))

    def get_ints(self, key: str, default: list[int] | None = None) -> list[int]:
        raw = self.options.get(key)
        if raw is None:
            if default is None:
                raise self._missing(key)
            return list(default)
        try:
            return [int(v) for v in raw.split(",") if v.strip()]
        except ValueError:
            raise self._bad(key, raw, "a comma-separated list of integers") from None

    def get_str(self, key: str, default: str) -> str:
        return self.options.get(key, default).strip()

    def _value(self, key: str, default: Any, kind: type) -> Any:
        raw = self.options.get(key)
        if raw is None:
            if default is None:
                raise self._missing(key)
            return default
        try:
            return kind(raw)
        except ValueError:
            raise self._bad(key, raw, "an integer" if kind is int else "a number") from None

    def _missing(self, key: str) -> ArtifactError:
        return _CfgError(f"[{self.type}] (layer {self.index}, line {self.line}) lacks {key}=")

    def _bad(self, key: str, raw: str, expected: str) -> ArtifactError:
        return _CfgError(f"[{self.type}] (layer {self.index}, line {self.line}): {key}={raw!r} is not {expected}")


class _CfgError(ArtifactError):
    """Raised inside parsing; re-raised by parse_cfg with the file's name in front."""


@dataclass(frozen=True)
class DarknetConfig:
    """A parsed cfg: the [net] section and the layers, with each layer's output channels."""

    path: str
    net: Layer
    layers: tuple[Layer, ...]
    channels: tuple[int, ...] = field(default=())  # output channels of each layer

    @property
    def width(self) -> int:
        return self.net.get_int("width", 416)

    @property
    def height(self) -> int:
        return self.net.get_int("height", 416)

    @property
    def in_channels(self) -> int:
        return self.net.get_int("channels", 3)

    def input_channels(self, index: int) -> int:
        """Channels entering layer `index` (the previous layer's output, or the image's)."""
        return self.in_channels if index == 0 else self.channels[index - 1]

    def route_sources(self, layer: Layer) -> list[int]:
        """Absolute indices of the layers a route concatenates (or a shortcut adds)."""
        key = "layers" if layer.type == "route" else "from"
        return [v if v >= 0 else layer.index + v for v in layer.get_ints(key)]


@dataclass(frozen=True)
class ConvWeights:
    """The arrays of one convolutional layer, float32; BatchNorm ones are None without BN."""

    layer: int
    weight: np.ndarray  # (filters, channels // groups, size, size)
    bias: np.ndarray | None  # the conv bias when not batch-normalised
    bn_scale: np.ndarray | None = None  # gamma
    bn_bias: np.ndarray | None = None  # beta
    bn_mean: np.ndarray | None = None
    bn_var: np.ndarray | None = None


@dataclass(frozen=True)
class WeightsHeader:
    major: int
    minor: int
    revision: int
    seen: int
    size: int  # bytes

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}.{self.revision}"


def parse_cfg(path: str | Path) -> DarknetConfig:
    """The cfg's sections, checked: known layer types, valid references, channels known per layer."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CFG_BYTES:
            raise ArtifactError(f"{path}: {size:,} bytes is far larger than any Darknet cfg (at most "
                                f"{MAX_CFG_BYTES:,} accepted); is this the .weights file?")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ArtifactError(f"{path} is not a text file, so not a Darknet .cfg (did you swap it with the "
                            f".weights file?)") from None
    except OSError as exc:
        raise ArtifactError(f"cannot read the Darknet cfg {path}: {exc}") from None
    try:
        return _parse_text(text, str(path))
    except _CfgError as exc:
        raise ArtifactError(f"Darknet cfg {path}: {exc}") from None


def parse_cfg_text(text: str, name: str) -> DarknetConfig:
    """parse_cfg for a cfg held in memory (one a package writes); name stands for the file in messages."""
    if len(text) > MAX_CFG_BYTES:
        raise ArtifactError(f"Darknet cfg {name}: {len(text):,} characters is far larger than any Darknet cfg")
    try:
        return _parse_text(text, name)
    except _CfgError as exc:
        raise ArtifactError(f"Darknet cfg {name}: {exc}") from None


def _parse_text(text: str, path: str) -> DarknetConfig:
    sections: list[tuple[str, dict[str, str], int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise _CfgError(f"line {number}: {raw.strip()!r} is not a [section] header")
            sections.append((line[1:-1].strip().lower(), {}, number))
            if len(sections) > MAX_LAYERS + 1:
                raise _CfgError(f"more than {MAX_LAYERS} layers")
        elif "=" in line:
            if not sections:
                raise _CfgError(f"line {number}: {raw.strip()!r} comes before the first [section]")
            key, _, value = line.partition("=")
            sections[-1][1][key.strip()] = value.strip()
        else:
            raise _CfgError(f"line {number}: {raw.strip()!r} is neither a [section] nor key=value")
    if not sections or sections[0][0] not in ("net", "network"):
        raise _CfgError("the first section must be [net] (the input size); this is not a Darknet cfg")
    net = Layer(-1, "net", sections[0][1], sections[0][2])
    layers = tuple(Layer(i, kind, opts, line) for i, (kind, opts, line) in enumerate(sections[1:]))
    if not layers:
        raise _CfgError("no layers after [net]")
    config = DarknetConfig(path, net, layers)
    return DarknetConfig(path, net, layers, tuple(_channels(config)))


def _channels(config: DarknetConfig) -> list[int]:
    out: list[int] = []
    for layer in config.layers:
        if layer.type not in LAYER_TYPES:
            raise _CfgError(f"layer {layer.index} (line {layer.line}) is [{layer.type}], which this reader does not "
                            f"support; supported: {', '.join(LAYER_TYPES)}")
        before = config.in_channels if layer.index == 0 else out[-1]
        if layer.type == "convolutional":
            _check_conv(layer, before)
            out.append(layer.get_int("filters"))
        elif layer.type in ("route", "shortcut"):
            sources = config.route_sources(layer)
            if not sources or any(not 0 <= s < layer.index for s in sources):
                raise _CfgError(f"[{layer.type}] layer {layer.index} (line {layer.line}) refers to layers {sources}; "
                                f"only earlier layers (0..{layer.index - 1}) can be used")
            if layer.type == "route" and layer.get_int("groups", 1) != 1:
                raise _CfgError(f"[route] layer {layer.index} (line {layer.line}): groups= is not supported")
            if layer.type == "shortcut" and out[sources[0]] != before:
                raise _CfgError(f"[shortcut] layer {layer.index} (line {layer.line}) adds {out[sources[0]]} channels "
                                f"to {before}")
            out.append(sum(out[s] for s in sources) if layer.type == "route" else before)
        else:
            if layer.type in ("maxpool", "upsample") and layer.get_int("stride", 2 if layer.type == "upsample" else 1) < 1:
                raise _CfgError(f"[{layer.type}] layer {layer.index} (line {layer.line}): stride must be at least 1")
            out.append(before)
    return out


def _check_conv(layer: Layer, channels: int) -> None:
    filters, size, stride = layer.get_int("filters"), layer.get_int("size", 1), layer.get_int("stride", 1)
    groups = layer.get_int("groups", 1)
    where = f"[convolutional] layer {layer.index} (line {layer.line})"
    if filters < 1 or size < 1 or stride < 1 or groups < 1:
        raise _CfgError(f"{where}: filters, size, stride and groups must be positive")
    if channels % groups or filters % groups:
        raise _CfgError(f"{where}: groups={groups} does not divide {channels} input channels and {filters} filters")
    activation = layer.get_str("activation", "logistic")
    if activation not in _ACTIVATIONS:
        raise _CfgError(f"{where}: activation={activation!r} is not supported ({', '.join(_ACTIVATIONS)})")


def conv_float_count(config: DarknetConfig, layer: Layer) -> int:
    """How many floats a convolutional layer takes from the .weights file."""
    filters, size = layer.get_int("filters"), layer.get_int("size", 1)
    per_filter = config.input_channels(layer.index) // layer.get_int("groups", 1) * size * size
    extra = 4 if layer.get_int("batch_normalize", 0) else 1
    return filters * (per_filter + extra)


def expected_floats(config: DarknetConfig) -> int:
    return sum(conv_float_count(config, l) for l in config.layers if l.type == "convolutional")


def read_header(data: bytes | memoryview, path: str) -> WeightsHeader:
    if len(data) < 16:
        raise ArtifactError(f"Darknet weights {path}: {len(data)} bytes is shorter than the 16-20 byte header, so the "
                            f"file is truncated or not a .weights file; download it again")
    major, minor, revision = (int(v) for v in np.frombuffer(data, "<i4", 3))
    if not (0 <= major < 1000 and 0 <= minor < 1000 and 0 <= revision < 1_000_000):
        raise ArtifactError(f"Darknet weights {path}: header version {major}.{minor}.{revision} is not a Darknet "
                            f"version (expected 0.1.x or 0.2.x); the file is corrupt or not a .weights file")
    wide = major * 10 + minor >= 2
    size = 20 if wide else 16
    if len(data) < size:
        raise ArtifactError(f"Darknet weights {path}: the file ends inside its {size}-byte header; it is truncated")
    seen = int(np.frombuffer(data, "<i8" if wide else "<i4", 1, 12)[0])
    return WeightsHeader(major, minor, revision, seen, size)


def read_weights(weights_path: str | Path, config: DarknetConfig) -> tuple[WeightsHeader, list[ConvWeights]]:
    """Every convolutional layer's arrays, checked against the cfg's float count and for non-finite values."""
    path = str(weights_path)
    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:  # ValueError: an empty file cannot be mapped
        size = Path(path).stat().st_size if Path(path).is_file() else None
        if size == 0:
            raise ArtifactError(f"Darknet weights {path} is empty; download it again") from None
        raise ArtifactError(f"cannot read the Darknet weights {path}: {exc}") from None
    header = read_header(memoryview(data[:20]).tobytes(), path)
    body = len(data) - header.size
    needed = expected_floats(config)
    if body % 4:
        raise ArtifactError(f"Darknet weights {path}: {body} bytes after the header is not a whole number of float32 "
                            f"values, so the file is corrupt; download it again")
    have = body // 4
    if have != needed:
        what = "is truncated" if have < needed else "holds more than the cfg describes"
        raise ArtifactError(f"Darknet weights {path} {what}: it has {have:,} floats after its v{header.version} header, "
                            f"but {config.path} needs {needed:,}; use the .weights file made for this cfg (or download "
                            f"it again)")
    floats = np.frombuffer(data, "<f4", have, header.size)
    out, offset = [], 0
    for layer in config.layers:
        if layer.type != "convolutional":
            continue
        conv, offset = _take_conv(floats, offset, config, layer)
        out.append(conv)
    bad = next((c.layer for c in out if not all(np.isfinite(a).all() for a in _arrays(c))), None)
    if bad is not None:
        raise ArtifactError(f"Darknet weights {path}: convolutional layer {bad} holds NaN or infinite values, so the "
                            f"file is corrupt; download it again")
    return header, out


def _take_conv(floats: np.ndarray, offset: int, config: DarknetConfig, layer: Layer) -> tuple[ConvWeights, int]:
    filters, size = layer.get_int("filters"), layer.get_int("size", 1)
    per_group = config.input_channels(layer.index) // layer.get_int("groups", 1)

    def take(count: int) -> np.ndarray:
        nonlocal offset
        part = np.array(floats[offset:offset + count], dtype=np.float32)  # a copy: the map is closed later
        offset += count
        return part

    first = take(filters)
    if layer.get_int("batch_normalize", 0):
        scale, mean, var = take(filters), take(filters), take(filters)
        weight = take(filters * per_group * size * size).reshape(filters, per_group, size, size)
        return ConvWeights(layer.index, weight, None, scale, first, mean, var), offset
    weight = take(filters * per_group * size * size).reshape(filters, per_group, size, size)
    return ConvWeights(layer.index, weight, first), offset


def _arrays(conv: ConvWeights) -> list[np.ndarray]:
    return [a for a in (conv.weight, conv.bias, conv.bn_scale, conv.bn_bias, conv.bn_mean, conv.bn_var)
            if a is not None]


def write_weights(path: str | Path, convs: list[ConvWeights], *, major: int = 0, minor: int = 2,
                  revision: int = 0, seen: int = 0) -> Path:
    """Write arrays as a Darknet .weights file (for tests and for exporting back to Darknet)."""
    wide = major * 10 + minor >= 2
    with open(path, "wb") as f:
        f.write(np.array([major, minor, revision], "<i4").tobytes())
        f.write(np.array([seen], "<i8" if wide else "<i4").tobytes())
        for conv in convs:
            if conv.bn_scale is not None:
                parts = [conv.bn_bias, conv.bn_scale, conv.bn_mean, conv.bn_var, conv.weight]
            else:
                parts = [conv.bias, conv.weight]
            for part in parts:
                f.write(np.ascontiguousarray(part, "<f4").tobytes())
    return Path(path)
