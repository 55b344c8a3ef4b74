"""From per-id model labels to words: LAC's B/I (lac) and B/I/E/S (seg) label decoding.

Labels are "<tag>-<position>": "n-B" begins a noun, "n-I" continues it; the seg model's labels have
an empty tag ("-B", "-I", "-E", "-S"). A word starts at every B or S label; its tag is the tag of
its last character's label, as in LAC.
"""
from __future__ import annotations


def tag_of(label: str) -> str:
    return label[:-2]


def spread_labels(labels: list[str], spans: list[int]) -> list[str]:
    """One label per character: an id covering n characters gives its label then n-1 continuations."""
    out: list[str] = []
    for label, span in zip(labels, spans):
        out.append(label)
        if span > 1:
            out.extend([tag_of(label) + "-I"] * (span - 1))
    return out


def spread_values(values: list[int], spans: list[int]) -> list[int]:
    """One value per character, repeating the value of an id over the characters it covers."""
    out: list[int] = []
    for value, span in zip(values, spans):
        out.extend([value] * span)
    return out


def word_starts(labels: list[str]) -> list[int]:
    """Indexes of the characters that begin a word: the first one and every B or S label."""
    return [i for i, label in enumerate(labels) if i == 0 or label.endswith("B") or label.endswith("S")]


def words_and_tags(text: str, labels: list[str]) -> tuple[list[str], list[str]]:
    """Cut text where a word starts; tag each word by the label of its last character."""
    starts = word_starts(labels)
    ends = starts[1:] + [len(labels)]
    words = [text[a:b] for a, b in zip(starts, ends)]
    tags = [tag_of(labels[b - 1]) for b in ends]
    return words, tags


def max_per_word(values: list[int], labels: list[str]) -> list[int]:
    """The largest per-character value inside each word (word boundaries as in words_and_tags)."""
    starts = word_starts(labels)
    ends = starts[1:] + [len(labels)]
    return [max(values[a:b]) for a, b in zip(starts, ends)]
