"""Published PyTorch state dicts -> this package's parameter names, as numpy arrays.

A converter is a list of (pattern, replacement) rules applied to each source name, first match
wins. Linear weights are transposed (torch stores [out, in], paddle [in, out]); BatchNorm's
running statistics are renamed; counters (`num_batches_tracked`) are dropped. The result must
match the network's own state dict exactly, name for name and shape for shape, or conversion
stops with the list of differences.
"""
from __future__ import annotations

import re
from typing import Mapping

import numpy as np

from hubcore.errors import ArtifactError

CONVERTER_VERSION = "1"  # bump when a rule changes, so cached conversions are rebuilt

_BN_STATS = [(r"\.running_mean$", "._mean"), (r"\.running_var$", "._variance")]

CONVERTERS: dict[str, list[tuple[str, str]]] = {
    # torchvision.models.mobilenet_v2: same layer layout as paddle.vision's MobileNetV2.
    "torchvision_mobilenet_v2": [
        (r"^features\.", "backbone.body.features."),
        (r"^classifier\.1\.", "head.fc."),
    ],
    # lukemelas/EfficientNet-PyTorch naming (also used by its EfficientNet-Lite ports).
    "efficientnet_pytorch": [
        (r"^_conv_stem\.", "backbone.stem.0.0."),
        (r"^_bn0\.", "backbone.stem.0.1."),
        (r"^_blocks\.(\d+)\._expand_conv\.", r"backbone.blocks.\1.expand.0.0."),
        (r"^_blocks\.(\d+)\._bn0\.", r"backbone.blocks.\1.expand.0.1."),
        (r"^_blocks\.(\d+)\._depthwise_conv\.", r"backbone.blocks.\1.depthwise.0.0."),
        (r"^_blocks\.(\d+)\._bn1\.", r"backbone.blocks.\1.depthwise.0.1."),
        (r"^_blocks\.(\d+)\._se_reduce\.", r"backbone.blocks.\1.se_reduce."),
        (r"^_blocks\.(\d+)\._se_expand\.", r"backbone.blocks.\1.se_expand."),
        (r"^_blocks\.(\d+)\._project_conv\.", r"backbone.blocks.\1.project.0."),
        (r"^_blocks\.(\d+)\._bn2\.", r"backbone.blocks.\1.project.1."),
        (r"^_conv_head\.", "backbone.head.0.0."),
        (r"^_bn1\.", "backbone.head.0.1."),
        (r"^_fc\.", "head.fc."),
    ],
}


def convert_state_dict(converter: str, source: Mapping[str, np.ndarray],
                       target_shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Rename (and transpose where needed) source arrays into the target network's names.

    target_shapes: the network's state dict shapes; the result has exactly those names and shapes.
    """
    rules = [(re.compile(p), r) for p, r in CONVERTERS[converter] + _BN_STATS]
    out: dict[str, np.ndarray] = {}
    unmatched = []
    for name, array in source.items():
        if name.endswith("num_batches_tracked"):
            continue
        new = name
        for pattern, replacement in rules[: len(rules) - len(_BN_STATS)]:
            new, n = pattern.subn(replacement, name)
            if n:
                break
        else:
            unmatched.append(name)
            continue
        for pattern, replacement in rules[len(rules) - len(_BN_STATS):]:
            new = pattern.sub(replacement, new)
        array = np.asarray(array)
        if array.ndim == 2 and new in target_shapes and tuple(target_shapes[new]) == array.shape[::-1]:
            array = array.T  # a Linear layer
        out[new] = np.ascontiguousarray(array, dtype=np.float32)
    problems = [f"source name {n!r} matches no rule" for n in unmatched]
    problems += [f"missing {n} {tuple(s)}" for n, s in target_shapes.items() if n not in out]
    problems += [f"unexpected {n}" for n in out if n not in target_shapes]
    problems += [f"{n}: shape {out[n].shape} != {tuple(s)}" for n, s in target_shapes.items()
                 if n in out and out[n].shape != tuple(s)]
    if problems:
        shown = "; ".join(problems[:8]) + (f"; and {len(problems) - 8} more" if len(problems) > 8 else "")
        raise ArtifactError(f"the published weights do not fit the network ({converter}): {shown}")
    return out
