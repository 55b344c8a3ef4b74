"""User dictionaries: force segmentation and tags where a dictionary phrase occurs, as LAC does.

Format (LAC's and PaddleHub's): one item a line; an item is one or more words separated by
whitespace (or by `sep`), each optionally followed by "/TAG":

    春天/SEASON      one word with its own tag
    花/n 开/v        a phrase cut into two words, each tagged
    秋天的风         one word keeping the model's tag
    落 阳            a phrase cut into two words, tags from the model

Matching runs on the original text, left to right, as in LAC: every item found that reaches past
the end of the previous match is applied in turn, so at one position the longest item wins and,
where two items overlap, the later one. An item of a single character with no tag changes nothing
and is ignored.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hubcore.errors import InputError


@dataclass(frozen=True)
class Item:
    """A parsed dictionary line: the phrase, each word's tag ("" = the model's) and end offset."""

    phrase: str
    tags: tuple[str, ...]
    ends: tuple[int, ...]


def parse_item(line: str, sep: str | None = None) -> Item | None:
    """The item a dictionary line describes, or None for a line that changes nothing."""
    words = line.strip().split(sep)
    words = [w for w in words if w] if sep is not None else words
    if not words:
        return None
    phrase, tags, ends = "", [], []
    for word in words:
        slash = word.rfind("/")
        # A slash at position 0 (or none) is part of the word: "/" alone is a valid word.
        if slash < 1:
            phrase += word
            tags.append("")
        else:
            phrase += word[:slash]
            tags.append(word[slash + 1:])
        ends.append(len(phrase))
    if len(phrase) < 2 and tags[0] == "":
        return None
    return Item(phrase, tuple(tags), tuple(ends))


class UserDict:
    """A set of dictionary items and the LAC rules for applying them to per-character labels."""

    def __init__(self) -> None:
        self._items: dict[str, Item] = {}
        # phrase -> its length, and every proper prefix of a phrase -> None, so matching knows
        # when to stop extending.
        self._trie: dict[str, int | None] = {}

    def __len__(self) -> int:
        return len(self._items)

    @classmethod
    def from_file(cls, path: str | Path, sep: str | None = None, *, argument: str = "path") -> "UserDict":
        if not isinstance(path, (str, Path)):
            raise InputError(f"{argument}: expected the path of a user dictionary file (str or pathlib.Path), "
                             f"got {type(path).__name__}")
        file = Path(path).expanduser()
        if not file.is_file():
            raise InputError(f"{argument}={str(path)!r}: no such file; give a UTF-8 text file with one item a "
                             f"line, e.g. '春天/SEASON' or '花/n 开/v'")
        found = cls()
        try:
            with open(file, encoding="utf-8") as handle:
                for line in handle:
                    found.add(line, sep)
        except UnicodeDecodeError as exc:
            raise InputError(f"{argument}={str(path)!r}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                             f"save the dictionary as UTF-8") from None
        return found

    def copy(self) -> "UserDict":
        other = UserDict()
        other._items = dict(self._items)
        other._trie = dict(self._trie)
        return other

    def add(self, line: str, sep: str | None = None) -> bool:
        """Add one item in the dictionary-line format; False when the line changes nothing."""
        item = parse_item(line, sep)
        if item is None:
            return False
        self._items[item.phrase] = item
        self._trie[item.phrase] = len(item.phrase)
        for end in range(1, len(item.phrase)):
            self._trie.setdefault(item.phrase[:end], None)
        return True

    def matches(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of the items to apply, in order (see the module docstring)."""
        found: list[tuple[int, int]] = []
        trie = self._trie
        n = len(text)
        for start in range(n):
            for end in range(start + 1, n + 1):
                length = trie.get(text[start:end], -1)
                if length == -1:
                    break
                if length and (not found or end > found[-1][1]):
                    found.append((start, end))
        return found

    def apply(self, text: str, labels: list[str]) -> list[str]:
        """Labels (one per character of text) rewritten where dictionary items occur."""
        if not self._items:
            return labels
        labels = list(labels)
        for begin, end in self.matches(text):
            item = self._items[text[begin:end]]
            index = begin
            for tag, offset in zip(item.tags, item.ends):
                while index < begin + offset:
                    # No tag: keep the model's tag, only join the character to the word.
                    labels[index] = labels[index][:-1] + "I" if tag == "" else tag + "-I"
                    index += 1
            labels[begin] = labels[begin][:-1] + "B"
            for offset in item.ends:
                if begin + offset < len(labels):
                    labels[begin + offset] = labels[begin + offset][:-1] + "B"
        return labels
