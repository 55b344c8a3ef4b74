"""yolov3_tiny_coco against OpenCV 4.x's Darknet runtime (cv2.dnn.readNetFromDarknet) on the same
weights, cfg and letterboxed input: the same objects (class equal, IoU >= 0.95, confidence within 0.02).

The images are composed from scikit-image's photos: pasted onto canvases at several scales, a full
photo, one with several objects, one with none. OpenCV's side decodes its own YOLO output and runs
its own NMS (cv2.dnn.NMSBoxes per class), so only the letterbox and the thresholds are shared.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

import hubcore as hub
from hubmod_detection.letterbox import letterbox

if not hasattr(cv2.dnn, "readNetFromDarknet"):
    pytest.fail(f"OpenCV {cv2.__version__} has no Darknet reader (OpenCV 5 dropped it); install "
                f"tests/requirements.txt (opencv-python-headless<5)", pytrace=False)

SCORE = 0.25
IOU = 0.45
MARGIN = 0.02  # boxes this close to the threshold may fall on either side of it in one runtime


def _photo(name: str) -> np.ndarray:
    import skimage.data

    image = getattr(skimage.data, name)()
    image = image[0] if isinstance(image, tuple) else image
    return np.stack([image] * 3, -1) if image.ndim == 2 else image[..., :3]


def _paste(canvas_hw: tuple[int, int], placements: list[tuple[str, float, int, int]]) -> np.ndarray:
    canvas = np.full((*canvas_hw, 3), 200, np.uint8)
    for name, scale, top, left in placements:
        photo = _photo(name)
        h, w = int(photo.shape[0] * scale), int(photo.shape[1] * scale)
        canvas[top:top + h, left:left + w] = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
    return canvas


def composed_images() -> dict[str, np.ndarray]:
    return {
        "full motorcycle": _photo("stereo_motorcycle"),
        "full camera": _photo("camera"),
        "cup small on canvas": _paste((600, 800), [("coffee", 0.5, 150, 250)]),
        "cup large on canvas": _paste((700, 700), [("coffee", 1.0, 100, 40)]),
        "several objects": _paste((640, 1400), [("stereo_motorcycle", 0.8, 20, 10), ("coffee", 0.7, 300, 620),
                                                ("camera", 0.6, 20, 1050)]),
        "tall canvas": _paste((1000, 500), [("stereo_motorcycle", 0.6, 600, 20)]),
        "nothing": _paste((300, 400), []),
    }


@pytest.fixture(scope="module")
def module():
    return hub.Module(name="yolov3_tiny_coco", threads=1)


@pytest.fixture(scope="module")
def opencv_net(module):
    net = cv2.dnn.readNetFromDarknet(str(module.artifact("cfg")), str(module.artifact("weights")))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    return net


def opencv_detect(net, rgb: np.ndarray) -> list[tuple[int, float, np.ndarray]]:
    """(class, confidence, x1 y1 x2 y2 in the image's pixels) as OpenCV's runtime finds them."""
    blob, frame = letterbox(rgb, (416, 416))
    net.setInput(blob[None])
    rows = np.concatenate(net.forward(net.getUnconnectedOutLayersNames()))
    classes = rows[:, 5:].argmax(1)
    scores = rows[:, 5:].max(1)
    keep = scores >= SCORE
    rows, classes, scores = rows[keep], classes[keep], scores[keep]
    found = []
    for label in np.unique(classes):
        idx = np.flatnonzero(classes == label)
        cx, cy, w, h = (rows[idx, k] * 416 for k in range(4))
        rects = [[float(a), float(b), float(c), float(d)] for a, b, c, d in zip(cx - w / 2, cy - h / 2, w, h)]
        for j in np.array(cv2.dnn.NMSBoxes(rects, scores[idx].tolist(), SCORE, IOU)).reshape(-1):
            x, y, bw, bh = rects[j]
            box = np.array([(x - frame.pad_x) / frame.scale_x, (y - frame.pad_y) / frame.scale_y,
                            (x + bw - frame.pad_x) / frame.scale_x, (y + bh - frame.pad_y) / frame.scale_y])
            box = np.clip(box, 0, [rgb.shape[1], rgb.shape[0]] * 2)
            found.append((int(label), float(scores[idx[j]]), box))
    return found


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def unmatched(these, those) -> list:
    """Detections of `these` clearly above the threshold with no equal one in `those`."""
    missing = []
    for label, score, box in these:
        if score < SCORE + MARGIN:
            continue
        if not any(l == label and abs(s - score) <= 0.02 and iou(box, b) >= 0.95 for l, s, b in those):
            missing.append((label, round(score, 3), np.round(box, 1).tolist()))
    return missing


def test_same_objects_as_opencv(module, opencv_net):
    images = composed_images()
    results = module.object_detection(images=[im[:, :, ::-1] for im in images.values()], score_thresh=SCORE)
    names = {name: i for i, name in enumerate(module.labels)}
    compared = 0
    for (title, rgb), result in zip(images.items(), results):
        ours = [(names[d["label"]], d["confidence"], np.array([d["left"], d["top"], d["right"], d["bottom"]]))
                for d in result["data"]]
        theirs = opencv_detect(opencv_net, rgb)
        assert not unmatched(ours, theirs), f"{title}: ours, not OpenCV's: {unmatched(ours, theirs)}"
        assert not unmatched(theirs, ours), f"{title}: OpenCV's, not ours: {unmatched(theirs, ours)}"
        compared += len(theirs)
        if title == "nothing":
            assert ours == [] and theirs == []
    assert compared >= 8  # the images do hold objects this network finds: the comparison is not vacuous
    several = {d["label"] for d in results[list(images).index("several objects")]["data"]}
    assert {"motorbike", "cup", "person"} <= several


def test_batches_give_the_same_detections(module):
    images = list(composed_images().values())
    one = module.object_detection(images=[im[:, :, ::-1] for im in images], score_thresh=SCORE, batch_size=1)
    eight = module.object_detection(images=[im[:, :, ::-1] for im in images], score_thresh=SCORE, batch_size=8)
    for a, b in zip(one, eight):
        assert [d["label"] for d in a["data"]] == [d["label"] for d in b["data"]]
        for x, y in zip(a["data"], b["data"]):
            assert abs(x["confidence"] - y["confidence"]) < 1e-3 and abs(x["left"] - y["left"]) < 0.5
