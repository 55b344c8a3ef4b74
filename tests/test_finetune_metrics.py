"""Metrics from confusion counts, and the hash split."""
from __future__ import annotations

import numpy as np
import pytest

from hubcore.errors import InputError
from hubcore.finetune.metrics import confusion_matrix, is_better, metrics_from_confusion
from hubcore.finetune.splits import check_split, split_of


def test_macro_metrics_match_a_hand_computed_example() -> None:
    labels = np.array([0, 0, 0, 1, 1, 2])
    predictions = np.array([0, 0, 1, 1, 2, 2])
    counts = confusion_matrix(predictions, labels, 3)
    assert counts.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    m = metrics_from_confusion(counts)
    # precision per class 1, 1/2, 1/2; recall 2/3, 1/2, 1; f1 0.8, 0.5, 2/3
    assert m["acc"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert m["recall"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert m["f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_padding_labels_are_not_counted_and_unpredicted_classes_lower_precision() -> None:
    counts = confusion_matrix(np.array([[1, 1, 0]]), np.array([[1, 0, -1]]), 2)
    assert counts.sum() == 2
    m = metrics_from_confusion(counts)
    assert m["acc"] == 0.5
    assert m["precision"] == pytest.approx(0.25)  # class 0 never predicted: precision 0, still averaged
    assert metrics_from_confusion(np.zeros((2, 2)))["acc"] == 0.0


def test_best_metric_direction() -> None:
    assert is_better("acc", 0.9, 0.8) and not is_better("acc", 0.8, 0.9)
    assert is_better("loss", 0.1, 0.2) and not is_better("loss", 0.3, 0.2)
    assert is_better("f1", 0.0, None)


def test_hash_split_is_stable_seeded_and_roughly_80_10_10() -> None:
    keys = [f"example {i}" for i in range(5000)]
    splits = [split_of(k) for k in keys]
    assert splits == [split_of(k) for k in reversed(keys)][::-1]  # order does not matter
    share = {name: splits.count(name) / len(keys) for name in ("train", "dev", "test")}
    assert 0.77 < share["train"] < 0.83 and 0.08 < share["dev"] < 0.12 and 0.08 < share["test"] < 0.12
    other = [split_of(k, seed=1) for k in keys]
    assert sum(a != b for a, b in zip(splits, other)) > 1000  # another seed: another split
    assert split_of(b"\x00\x01") == split_of(b"\x00\x01")
    with pytest.raises(InputError, match="'train', 'dev', 'test'"):
        check_split("validation")
