"""The tags the lac model gives (LAC 2.1.2's tag set), and the meaning of rank scores.

The model's label table (conf/tag.dic) also lists nr, ns, nt and t, but it maps them onto the
same label ids as PER, LOC, ORG and TIME, which are what come out. A user dictionary can add tags
of its own ("春天/SEASON").
"""
from __future__ import annotations

TAGS: dict[str, str] = {
    "n": "common noun (普通名词)",
    "f": "locative noun (方位名词)",
    "s": "place noun (处所名词)",
    "nw": "work title (作品名)",
    "nz": "other proper noun (其他专名)",
    "v": "verb (普通动词)",
    "vd": "verb used as adverb (动副词)",
    "vn": "verb used as noun (名动词)",
    "a": "adjective (形容词)",
    "ad": "adjective used as adverb (副形词)",
    "an": "adjective used as noun (名形词)",
    "d": "adverb (副词)",
    "m": "numeral / quantity (数量词)",
    "q": "measure word (量词)",
    "r": "pronoun (代词)",
    "p": "preposition (介词)",
    "c": "conjunction (连词)",
    "u": "auxiliary (助词)",
    "xc": "other function word (其他虚词)",
    "w": "punctuation (标点符号)",
    "PER": "person name (人名)",
    "LOC": "place name (地名)",
    "ORG": "organisation name (机构名)",
    "TIME": "time (时间)",
    # LAC's "O" label: the model knows no tag for the text (other scripts, rare characters, emoji).
    # As in LAC, such characters continue the word before them, or start the sentence's first word.
    "": "no tag: label O, outside LAC's tag set",
}

RANKS: dict[int, str] = {
    0: "redundant in the query (p, w, xc ...)",
    1: "weak qualifier (r, c, u ...)",
    2: "strong qualifier (n, s, v ...)",
    3: "core word (nz, nw, LOC ...)",
}
