"""The weights file format shared by the modules, the training recipe and the tests.

One safetensors file holds everything a sentiment module needs, so one sha256 covers it:
- tensors "backbone.*" and "head.*": the network (SentimentNet's state dict), fp16 or fp32;
- tensor "vocab.codepoints" (uint32): the character vocabulary, id = index + 2;
- tensor "vocab.bigrams" (uint32 [n, 2], only for networks that embed bigrams): the bigram
  vocabulary as pairs of code points, id = index + 2;
- metadata "hubmod_senta": JSON {"format", "arch", "max_len", "labels"} and, for networks other
  than the defaults of nets.py, "network": {"embedding", "hidden", "pooling"} (one key with sorted JSON,
  because safetensors writes several metadata keys in no fixed order, and the file's bytes, so
  its sha256, should depend on the weights alone).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "hubmod-senta/1"
VOCAB_KEY = "vocab.codepoints"
BIGRAM_KEY = "vocab.bigrams"
METADATA_KEY = "hubmod_senta"


def save(path: Path, state: dict[str, np.ndarray], codepoints: np.ndarray, *, arch: str, max_len: int,
         labels: list[str], dtype: str = "float16", bigrams: np.ndarray | None = None,
         network: dict[str, Any] | None = None) -> None:
    from safetensors.numpy import save_file

    tensors = {name: np.ascontiguousarray(value.astype(dtype) if value.dtype.kind == "f" else value)
               for name, value in state.items()}
    tensors[VOCAB_KEY] = np.ascontiguousarray(codepoints.astype(np.uint32))
    if bigrams is not None and len(bigrams):
        tensors[BIGRAM_KEY] = np.ascontiguousarray(bigrams.astype(np.uint32).reshape(-1, 2))
    config = {"format": FORMAT, "arch": arch, "max_len": max_len, "labels": labels}
    if network:
        config["network"] = network
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(config, sort_keys=True)})


def load(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, Any]]:
    """(network state as float32, vocabulary code points, {"arch", "max_len", "labels", "network",
    "bigrams"}): "network" holds build_encoder's options ({} for the defaults), "bigrams" the bigram
    code points or None."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        config = json.loads((f.metadata() or {}).get(METADATA_KEY, "{}"))
        if config.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} weights file (format {config.get('format')!r})")
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    codepoints = tensors.pop(VOCAB_KEY)
    bigrams = tensors.pop(BIGRAM_KEY, None)
    state = {name: value.astype(np.float32) if value.dtype.kind == "f" else value for name, value in tensors.items()}
    return state, codepoints, {"arch": config["arch"], "max_len": int(config["max_len"]), "labels": config["labels"],
                               "network": dict(config.get("network") or {}), "bigrams": bigrams}


def sha256_of(path: Path) -> tuple[str, int]:
    data = Path(path).read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)
