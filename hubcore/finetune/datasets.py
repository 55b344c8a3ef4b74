"""Fine-tuning data: a list of (input, label) examples with its label list, checked when built.

Every problem a data set can have (missing files, unknown labels, empty splits, a label count
that does not match the token count) is found here or in Trainer.train's checks, as an InputError
that names the file, line or example, before any training step runs.

    ds = Dataset([("很好用", "positive"), ("太差了", "negative")], label_list=["negative", "positive"])
    ds = ImageFolder("flowers/train")                # flowers/train/<class>/*.jpg
    ds = TextClassificationTSV("reviews.tsv")         # text<TAB>label per line
    ds = SequenceLabelingTSV("ner.tsv")               # 海\x02钓<TAB>B-LOC\x02O per line (PaddleHub's form)
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError

TASKS = ("classification", "sequence_labeling")
INPUT_KINDS = ("text", "image")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_SHOWN = 5  # offending examples quoted in one message


class Dataset(Sequence):
    """Examples (input, label) with the label list, task and kind of input they hold.

    task "classification": each label is one label name (str).
    task "sequence_labeling": each input is a string (one token per character) or a list of tokens,
    and each label a list of label names, one per token.
    input_kind "text" (inputs are strings or token lists) or "image" (paths, bytes, arrays, PIL images).
    label_list: the classes, in the order the model's outputs use; default: the sorted labels seen.
    """

    def __init__(self, examples: Iterable[tuple[Any, Any]], label_list: Sequence[str] | None = None, *,
                 task: str = "classification", input_kind: str = "text", name: str = "dataset") -> None:
        if task not in TASKS:
            raise InputError(f"task={task!r}: expected one of {', '.join(map(repr, TASKS))}")
        if input_kind not in INPUT_KINDS:
            raise InputError(f"input_kind={input_kind!r}: expected one of {', '.join(map(repr, INPUT_KINDS))}")
        self.name = name
        self.task = task
        self.input_kind = input_kind
        self.examples = [_as_pair(example, i, name) for i, example in enumerate(examples)]
        if not self.examples:
            raise InputError(f"{name} is empty: give at least one (input, label) example")
        if task == "sequence_labeling":
            _check_token_counts(self.examples, name)
        else:
            _check_single_labels(self.examples, name)
        seen = sorted({lab for _, label in self.examples for lab in _labels_of(label)})
        self.label_list = check_label_list(label_list) if label_list is not None else seen
        _check_known_labels(self.examples, self.label_list, name)
        if input_kind == "image":
            _check_image_files(self.examples, name)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: Any) -> Any:
        return self.examples[index]

    def labels_used(self) -> set[str]:
        return {lab for _, label in self.examples for lab in _labels_of(label)}

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.name}: {len(self)} examples, {self.task}, "
                f"labels {self.label_list}>")


def _as_pair(example: Any, index: int, name: str) -> tuple[Any, Any]:
    if not isinstance(example, (tuple, list)) or len(example) != 2:
        raise InputError(f"{name}[{index}]: expected an (input, label) pair, got {type(example).__name__}")
    return example[0], example[1]


def _labels_of(label: Any) -> list[Any]:
    return list(label) if isinstance(label, (list, tuple)) else [label]


def _quote(items: list[str], total: int) -> str:
    more = f" (and {total - len(items)} more)" if total > len(items) else ""
    return "; ".join(items) + more


def _check_single_labels(examples: list[tuple[Any, Any]], name: str) -> None:
    bad = [i for i, (_, label) in enumerate(examples) if not isinstance(label, str) or not label]
    if bad:
        shown = [f"{name}[{i}] has label {examples[i][1]!r}" for i in bad[:_SHOWN]]
        raise InputError(f"{name}: every label must be a non-empty label name (str); {_quote(shown, len(bad))}. "
                         f"Convert numeric labels with str(), e.g. 3 -> '3'")


def _check_token_counts(examples: list[tuple[Any, Any]], name: str) -> None:
    bad = []
    for i, (tokens, labels) in enumerate(examples):
        if not isinstance(tokens, (str, list, tuple)) or not isinstance(labels, (list, tuple)):
            bad.append(f"{name}[{i}] is ({type(tokens).__name__}, {type(labels).__name__}), expected "
                       f"(str or list of tokens, list of labels)")
        elif len(tokens) == 0:
            bad.append(f"{name}[{i}] has no tokens")
        elif len(tokens) != len(labels):
            bad.append(f"{name}[{i}] has {len(tokens)} tokens but {len(labels)} labels")
        elif not all(isinstance(lab, str) and lab for lab in labels):
            bad.append(f"{name}[{i}] has a label that is not a non-empty str")
    if bad:
        raise InputError(f"{name}: sequence labelling needs one label per token; {_quote(bad[:_SHOWN], len(bad))}")


def check_label_list(label_list: Any, minimum: int = 1) -> list[str]:
    """label_list as a list of distinct, non-empty label names (at least minimum of them)."""
    if isinstance(label_list, str) or not isinstance(label_list, (list, tuple)) or \
            not all(isinstance(lab, str) and lab for lab in label_list):
        raise InputError(f"label_list={label_list!r}: expected a list of label names, e.g. ['negative', 'positive']")
    if len(label_list) < minimum:
        raise InputError(f"label_list={list(label_list)!r}: needs at least {minimum} label(s)")
    duplicates = sorted({lab for lab in label_list if list(label_list).count(lab) > 1})
    if duplicates:
        raise InputError(f"label_list names {duplicates} more than once; each class must appear once")
    return list(label_list)


def _check_known_labels(examples: list[tuple[Any, Any]], label_list: list[str], name: str) -> None:
    known = set(label_list)
    bad = [(i, lab) for i, (_, label) in enumerate(examples) for lab in _labels_of(label) if lab not in known]
    if bad:
        shown = [f"{name}[{i}] has label {lab!r}" for i, lab in bad[:_SHOWN]]
        raise InputError(f"{name}: unknown label(s) {sorted({lab for _, lab in bad})[:10]} not in label_list "
                         f"{label_list}; {_quote(shown, len(bad))}. Add them to label_list or fix the data")


def _check_image_files(examples: list[tuple[Any, Any]], name: str) -> None:
    missing = [(i, str(x)) for i, (x, _) in enumerate(examples)
               if isinstance(x, (str, Path)) and not Path(x).is_file()]
    if missing:
        shown = [f"{name}[{i}]: {path}" for i, path in missing[:_SHOWN]]
        raise InputError(f"{name}: {len(missing)} image file(s) do not exist: {_quote(shown, len(missing))}")


class ImageFolder(Dataset):
    """Images sorted into one folder per class: root/<label>/<image file>.

    label_list: the classes in output order; default: the sorted subfolder names. Every class needs
    a non-empty folder, and every subfolder must be a listed class.
    """

    def __init__(self, root: str | Path, label_list: Sequence[str] | None = None, *,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS, name: str | None = None) -> None:
        root = Path(root).expanduser()
        name = name or f"ImageFolder({root})"
        if not root.is_dir():
            raise InputError(f"{name}: {root} is not a folder; expected root/<class>/<image files>")
        folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not folders:
            raise InputError(f"{name}: {root} has no class subfolders; put each class's images in root/<class>/")
        if label_list is not None:
            unknown = [f for f in folders if f not in label_list]
            if unknown:
                raise InputError(f"{name}: subfolder(s) {unknown} are not in label_list {list(label_list)}; "
                                 f"add them to label_list or move them out of {root}")
        labels = list(label_list) if label_list is not None else folders
        suffixes = {e.lower() for e in extensions}
        examples = []
        for label in labels:
            files = sorted(p for p in (root / label).glob("*") if p.is_file() and p.suffix.lower() in suffixes)
            if not files:
                raise InputError(f"{name}: class {label!r} has no images in {root / label} "
                                 f"(looked for {', '.join(sorted(suffixes))})")
            examples += [(path, label) for path in files]
        super().__init__(examples, labels, task="classification", input_kind="image", name=name)


def _read_lines(path: Path, name: str) -> list[str]:
    if not path.is_file():
        raise InputError(f"{name}: {path} does not exist or is not a file")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         f"save it as UTF-8") from None


def _tsv_rows(path: Path, name: str, skip_header: bool, columns: int) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate(_read_lines(path, name), start=1):
        if (skip_header and number == 1) or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < columns:
            raise InputError(f"{name}: {path} line {number} has {len(fields)} tab-separated field(s), expected "
                             f"at least {columns}: {line[:80]!r}")
        rows.append((number, fields))
    return rows


class TextClassificationTSV(Dataset):
    """A UTF-8 file with one example a line: text<TAB>label (column numbers configurable)."""

    def __init__(self, path: str | Path, label_list: Sequence[str] | None = None, *, text_column: int = 0,
                 label_column: int = 1, skip_header: bool = False, name: str | None = None) -> None:
        path = Path(path).expanduser()
        name = name or f"TextClassificationTSV({path})"
        examples = []
        for number, fields in _tsv_rows(path, name, skip_header, max(text_column, label_column) + 1):
            text, label = fields[text_column].strip(), fields[label_column].strip()
            if not text:
                raise InputError(f"{name}: {path} line {number} has an empty text")
            examples.append((text, label))
        super().__init__(examples, label_list, task="classification", input_kind="text", name=name)


class SequenceLabelingTSV(Dataset):
    """One example a line: tokens<TAB>labels, tokens and labels joined by separator (default \\x02)."""

    def __init__(self, path: str | Path, label_list: Sequence[str] | None = None, *, separator: str = "\x02",
                 skip_header: bool = False, name: str | None = None) -> None:
        path = Path(path).expanduser()
        name = name or f"SequenceLabelingTSV({path})"
        examples = []
        for number, fields in _tsv_rows(path, name, skip_header, 2):
            tokens, labels = fields[0].split(separator), fields[1].split(separator)
            if len(tokens) != len(labels):
                raise InputError(f"{name}: {path} line {number} has {len(tokens)} tokens but {len(labels)} "
                                 f"labels (separator {separator!r}); give one label per token")
            examples.append((tokens, labels))
        super().__init__(examples, label_list, task="sequence_labeling", input_kind="text", name=name)
