"""The 20 classes of the LIP (Look Into Person) human parsing dataset and ACE2P's palette."""
from __future__ import annotations

LIP_CLASSES = (
    "Background", "Hat", "Hair", "Glove", "Sunglasses", "Upper-clothes", "Dress", "Coat", "Socks", "Pants",
    "Jumpsuits", "Scarf", "Skirt", "Face", "Left-arm", "Right-arm", "Left-leg", "Right-leg", "Left-shoe",
    "Right-shoe",
)


def palette(num_classes: int = len(LIP_CLASSES)) -> list[int]:
    """[r0, g0, b0, r1, ...]: the PASCAL-style bit-spread palette PaddleHub's ace2p draws with."""
    out = [0] * (num_classes * 3)
    for cls in range(num_classes):
        label, bit = cls, 0
        while label:
            for channel in range(3):
                out[cls * 3 + channel] |= ((label >> channel) & 1) << (7 - bit)
            bit += 1
            label >>= 3
    return out
