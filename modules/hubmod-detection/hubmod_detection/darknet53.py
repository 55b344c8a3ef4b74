"""The YOLOv3 network with its DarkNet-53 backbone, written as a Darknet cfg (Redmon & Farhadi 2018).

DarkNet-53: a 3x3 convolution, then five stages, each a stride-2 3x3 convolution followed by
residual blocks (1x1 halving the channels, 3x3 restoring them, a shortcut), 1, 2, 8, 8 and 4 of
them. Three YOLO heads read strides 32, 16 and 8: each a stack of five alternating 1x1 / 3x3
convolutions, a 3x3 and a 1x1 output convolution; the two finer heads also take the coarser
head's features, halved by a 1x1 convolution and upsampled, joined to the backbone's stage output.
The same cfg describes Darknet's own yolov3.weights, so those load as they are.
"""
from __future__ import annotations

Anchors = tuple[tuple[int, int], ...]

COCO_ANCHORS: Anchors = ((10, 13), (16, 30), (33, 23), (30, 61), (62, 45), (59, 119), (116, 90), (156, 198), (373, 326))
STAGES = ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4))


def _conv(filters: int, size: int, stride: int = 1, activation: str = "leaky", bn: bool = True) -> str:
    return (f"[convolutional]\n{'batch_normalize=1' + chr(10) if bn else ''}filters={filters}\nsize={size}\n"
            f"stride={stride}\npad=1\nactivation={activation}\n")


def _yolo(mask: tuple[int, int, int], classes: int, anchors: Anchors) -> str:
    flat = ", ".join(f"{w},{h}" for w, h in anchors)
    return f"[yolo]\nmask={','.join(map(str, mask))}\nanchors={flat}\nclasses={classes}\nnum={len(anchors)}\n"


def yolov3_cfg(classes: int, size: int = 608, anchors: Anchors = COCO_ANCHORS) -> str:
    """The Darknet cfg text of YOLOv3 (DarkNet-53) for `classes` classes at a size x size input, with
    nine anchors (w, h in input pixels, smallest first: three per head, the finest head the smallest)."""
    if len(anchors) != 9:
        raise ValueError(f"YOLOv3 has three heads of three anchors: 9 anchors, not {len(anchors)}")
    out = [f"[net]\nwidth={size}\nheight={size}\nchannels=3\n", _conv(32, 3)]
    stage_ends = []
    for filters, blocks in STAGES:
        out.append(_conv(filters, 3, 2))
        for _ in range(blocks):
            out += [_conv(filters // 2, 1), _conv(filters, 3), "[shortcut]\nfrom=-3\nactivation=linear\n"]
        stage_ends.append(len(out) - 2)  # layer index of the stage's last shortcut ([net] is not a layer)
    head_out = 3 * (5 + classes)
    for level, (width, mask) in enumerate(((512, (6, 7, 8)), (256, (3, 4, 5)), (128, (0, 1, 2)))):
        if level:
            out += ["[route]\nlayers=-4\n", _conv(width, 1), "[upsample]\nstride=2\n",
                    f"[route]\nlayers=-1, {stage_ends[-1 - level]}\n"]
        for _ in range(3):
            out += [_conv(width, 1), _conv(width * 2, 3)]
        out += [_conv(head_out, 1, activation="linear", bn=False), _yolo(mask, classes, anchors)]
    return "\n".join(out)
