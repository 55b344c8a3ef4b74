"""Copying named arrays into a network, refusing any missing, extra or misshapen tensor."""
from __future__ import annotations

from typing import Any

import numpy as np

from hubcore.errors import ArtifactError


def load_into(net: Any, arrays: dict[str, np.ndarray], *, what: str) -> None:
    shapes = {name: tuple(t.shape) for name, t in net.state_dict().items()}
    problems = [f"missing {n}" for n in shapes if n not in arrays]
    problems += [f"unexpected {n}" for n in arrays if n not in shapes]
    problems += [f"{n}: shape {tuple(arrays[n].shape)} != {shapes[n]}" for n in shapes
                 if n in arrays and tuple(arrays[n].shape) != shapes[n]]
    if problems:
        shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "")
        raise ArtifactError(f"{what} does not fit the network: {shown}")
    net.set_state_dict({n: arrays[n] for n in shapes}, use_structured_name=True)
