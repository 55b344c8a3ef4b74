"""CelebA attribute vectors from PaddleHub-style `info` ("Female,Black_Hair") and `style` ("Bangs").

The networks see CelebA's own attributes (Male, Young); users speak PaddleHub's words: "Gender"
flips Male, "Aged" means not Young, "Female" means not Male.
"""
from __future__ import annotations

import numpy as np

from hubcore.errors import InputError

# PaddleCV's order for STGAN and AttGAN (the weights' label layout).
CELEBA_13 = ("Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows", "Eyeglasses", "Male",
             "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin", "Young")
# PaddleCV's order for StarGAN.
CELEBA_5 = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")

HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")
# Setting the key attribute rules out these (CelebA faces cannot be both).
_EXCLUDES = {
    "Bald": ("Bangs",), "Bangs": ("Bald",), "Mustache": ("No_Beard",), "No_Beard": ("Mustache",),
    **{hair: tuple(h for h in HAIR_COLOURS if h != hair) for hair in HAIR_COLOURS},
}


def _words(value: str) -> list[str]:
    return [w.strip() for w in value.split(",") if w.strip()]


def user_styles(attrs: tuple[str, ...]) -> tuple[str, ...]:
    """The style words a module accepts: its attributes in PaddleHub's vocabulary."""
    out = []
    for a in attrs:
        if a == "Male":
            out += ["Gender"] if len(attrs) > 5 else ["Male", "Female"]
        elif a == "Young":
            out.append("Aged")
        else:
            out.append(a)
    return tuple(out)


def parse_info(info: str | None, attrs: tuple[str, ...], *, need_gender: bool, where: str) -> np.ndarray:
    """Source attribute vector (0/1) from "Female,Black_Hair,Eyeglasses"; absent means 0 (Young: 1)."""
    label = np.zeros(len(attrs), dtype=np.float32)
    if "Young" in attrs:
        label[attrs.index("Young")] = 1.0
    words = _words(info or "")
    accepted = tuple(a for a in attrs if a not in ("Male", "Young")) + ("Male", "Female", "Aged")
    for word in words:
        if word not in accepted:
            raise InputError(f"{where}: unknown attribute {word!r}; accepted: {', '.join(accepted)}")
    if need_gender and not ({"Male", "Female"} & set(words)):
        raise InputError(f"{where}: say whether the face is \"Male\" or \"Female\" (e.g. \"Female,Black_Hair\"); "
                         f"the generator needs the source gender")
    for word in words:
        if word == "Female":
            label[attrs.index("Male")] = 0.0
        elif word == "Aged":
            label[attrs.index("Young")] = 0.0
        else:
            label[attrs.index(word)] = 1.0
    return label


def apply_style(source: np.ndarray, style: str, attrs: tuple[str, ...], *, where: str) -> np.ndarray:
    """Target vector: source with the style's attributes changed, then conflicts resolved.

    13-attribute models flip the named attribute (PaddleHub's semantics: "Bangs" toggles bangs);
    5-attribute StarGAN sets it ("Blond_Hair" makes the hair blond, "Female"/"Male" set gender).
    """
    accepted = user_styles(attrs)
    words = _words(style)
    if not words:
        raise InputError(f"{where}: empty style; accepted: {', '.join(accepted)}")
    target = source.copy()
    toggle = len(attrs) > 5
    for word in words:
        if word not in accepted:
            raise InputError(f"{where}: unknown style {word!r}; accepted: {', '.join(accepted)}")
        name, value = {"Gender": ("Male", None), "Female": ("Male", 0.0), "Aged": ("Young", None if toggle else 0.0),
                       }.get(word, (word, None if toggle else 1.0))
        i = attrs.index(name)
        target[i] = 1.0 - target[i] if value is None else value
        if target[i] == 1.0:
            for other in _EXCLUDES.get(name, ()):
                if other in attrs:
                    target[attrs.index(other)] = 0.0
    return target


def broadcast(value: str | list[str] | None, n: int, name: str) -> list[str | None]:
    """One entry per image: a single string applies to all, a list must have one per image."""
    if value is None or isinstance(value, str):
        return [value] * n
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{name} must be a string or a list of strings (one per image)")
    if len(value) != n:
        raise InputError(f"{name} has {len(value)} entries for {n} images; give one per image or a single string")
    return list(value)
