"""The OCR pipeline's parts on inputs made here (no weights): DB post-process, reading order, crops,
CTC decoding, recognition batching, image inputs and argument checks."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from hubcore.errors import InputError
from hubmod_ocr import images as imagelib
from hubmod_ocr.classifier import chunk_sizes
from hubmod_ocr.crops import crop_line
from hubmod_ocr.ctc import Alphabet, greedy_decode
from hubmod_ocr.db_postprocess import (DBParams, boxes_from_probability, min_area_quad, order_clockwise,
                                       reading_order, tidy_boxes, unclip)
from hubmod_ocr.detector import Sizing, frame, network_input
from hubmod_ocr.options import check_min_width
from hubmod_ocr.recognizer import batch_sizes, padded_width, plan_batches


def kernel_map(shape: tuple[int, int], rects: list[tuple[tuple[float, float], tuple[float, float], float]],
               value: float = 0.9) -> np.ndarray:
    """A probability map with value inside each rotated rectangle ((cx, cy), (w, h), angle) and 0.02 elsewhere."""
    prob = np.full(shape, 0.02, np.float32)
    for rect in rects:
        corners = cv2.boxPoints(rect).astype(np.int32)
        cv2.fillPoly(prob, [corners], value)
    return prob


def side_lengths(quad: np.ndarray) -> tuple[float, float]:
    return float(np.linalg.norm(quad[0] - quad[1])), float(np.linalg.norm(quad[0] - quad[3]))


# -- DB post-process ------------------------------------------------------------------------------

def test_a_kernel_is_grown_by_the_polygon_offset_distance() -> None:
    w, h, ratio = 120.0, 16.0, 1.6
    prob = kernel_map((200, 300), [((150, 100), (w, h), 0)])
    boxes, scores = boxes_from_probability(prob, (300, 200), DBParams(unclip_ratio=ratio))
    assert boxes.shape == (1, 4, 2)
    assert 0.8 < scores[0] <= 0.9  # the box's rim holds some background pixels
    # The kernel's traced contour is about one pixel larger (dilation, pixel edges); D follows from it.
    kw, kh = w + 1, h + 1
    distance = kw * kh * ratio / (2 * (kw + kh))
    got_w, got_h = side_lengths(boxes[0])
    assert got_w == pytest.approx(kw + 2 * distance, abs=2.5)
    assert got_h == pytest.approx(kh + 2 * distance, abs=2.5)
    center = boxes[0].mean(axis=0)
    assert center == pytest.approx([150, 100], abs=1.5)


def test_rotated_kernels_keep_their_angle_and_scale_to_the_destination_size() -> None:
    prob = kernel_map((200, 300), [((150, 100), (160, 20), -10)])
    boxes, _ = boxes_from_probability(prob, (600, 400), DBParams())
    assert boxes.shape == (1, 4, 2)
    top = boxes[0][1] - boxes[0][0]
    angle = np.degrees(np.arctan2(top[1], top[0]))
    assert abs(abs(angle) - 10) < 1.5, angle
    assert boxes[0].mean(axis=0) == pytest.approx([300, 200], abs=3)  # map coordinates doubled


def test_weak_and_tiny_regions_are_dropped() -> None:
    prob = kernel_map((200, 300), [((80, 60), (100, 14), 0)], value=0.45)  # above thresh, below box_thresh
    prob = np.maximum(prob, kernel_map((200, 300), [((200, 150), (1, 1), 0)]))  # a speck
    assert len(boxes_from_probability(prob, (300, 200), DBParams(box_thresh=0.5))[0]) == 0
    assert len(boxes_from_probability(prob, (300, 200), DBParams(box_thresh=0.4))[0]) == 1


def test_unclip_offsets_a_square_by_area_times_ratio_over_perimeter() -> None:
    square = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], np.float32)
    grown = unclip(square, 2.0)
    distance = 100 * 100 * 2.0 / 400  # 50
    x, y, w, h = cv2.boundingRect(grown.astype(np.int32))
    assert (x, y) == pytest.approx((-distance, -distance), abs=1)
    assert (w, h) == pytest.approx((100 + 2 * distance, 100 + 2 * distance), abs=2)
    # Round joins: the area is the square plus four strips plus a full circle of radius D.
    area = cv2.contourArea(grown.reshape(-1, 1, 2))
    assert area == pytest.approx(100 * 100 + 4 * 100 * distance + np.pi * distance ** 2, rel=0.01)


def test_quads_are_ordered_clockwise_from_top_left() -> None:
    quad, short = min_area_quad(np.array([[10, 40], [110, 20], [115, 45], [15, 65]], np.float32))
    tl, tr, br, bl = quad
    assert tl[0] < tr[0] and bl[0] < br[0] and tl[1] < bl[1] and tr[1] < br[1]
    assert short == pytest.approx(25, abs=1.5)
    shuffled = np.array([[50, 50], [0, 0], [0, 50], [50, 0]], np.float32)
    assert order_clockwise(shuffled).tolist() == [[0, 0], [50, 0], [50, 50], [0, 50]]


def test_boxes_are_clipped_into_the_image_and_slivers_dropped() -> None:
    boxes = np.array([[[-5, -3], [60, -3], [60, 20], [-5, 20]],  # crosses the top-left corner
                      [[10, 10], [12, 10], [12, 40], [10, 40]]], np.float32)  # 2 px wide
    kept, index = tidy_boxes(boxes, (50, 30))
    assert index.tolist() == [0]
    assert kept[0].tolist() == [[0, 0], [49, 0], [49, 20], [0, 20]]


def test_reading_order_is_top_to_bottom_then_left_to_right_on_a_line() -> None:
    def box(x: float, y: float) -> list:
        return [[x, y], [x + 40, y], [x + 40, y + 20], [x, y + 20]]

    boxes = np.array([box(300, 100), box(50, 106), box(400, 50), box(10, 200), box(200, 97)], np.float32)
    # The three boxes with tops within 10 px of each other read left to right.
    assert reading_order(boxes).tolist() == [2, 1, 4, 0, 3]


# -- detector sizing ------------------------------------------------------------------------------

def test_network_input_is_a_multiple_of_32_with_a_short_side_of_736() -> None:
    image = np.zeros((600, 800, 3), np.uint8)
    fr = frame(image, Sizing())
    batch = network_input(fr.view, Sizing())
    assert batch.shape == (1, 3, 736, 992) and batch.dtype == np.float32
    assert batch.min() == pytest.approx(-1.0)


def test_big_flat_and_tall_images_are_bounded_and_padded() -> None:
    big = frame(np.zeros((4000, 6000, 3), np.uint8), Sizing())
    assert max(big.view.shape[:2]) <= 2016 and big.scale_x == pytest.approx(big.view.shape[1] / 6000)
    flat = frame(np.zeros((40, 2000, 3), np.uint8), Sizing())
    assert flat.pad_top > 0 and flat.view.shape[0] == 40 + 2 * flat.pad_top
    tall = frame(np.zeros((3000, 60, 3), np.uint8), Sizing())
    assert tall.pad_left > 0
    for fr in (big, flat, tall):
        assert max(network_input(fr.view, Sizing()).shape[2:]) <= Sizing().max_input_side


# -- crops ----------------------------------------------------------------------------------------

def test_crop_of_an_upright_box_is_that_region_and_a_tall_one_is_turned() -> None:
    image = np.random.default_rng(0).integers(0, 255, (100, 200, 3), dtype=np.uint8)
    quad = np.array([[20, 30], [120, 30], [120, 60], [20, 60]], np.float32)
    crop = crop_line(image, quad)
    assert crop.shape == (30, 100, 3)
    assert np.abs(crop[2:-2, 2:-2].astype(int) - image[32:58, 22:118].astype(int)).mean() < 3
    tall = crop_line(image, np.array([[50, 10], [70, 10], [70, 90], [50, 90]], np.float32))
    assert tall.shape == (20, 80, 3)
    assert crop_line(image, np.array([[5, 5], [5, 5], [5, 5], [5, 5]], np.float32)) is None


# -- CTC ------------------------------------------------------------------------------------------

def test_greedy_decoding_merges_repeats_drops_blanks_and_keeps_spaces() -> None:
    alphabet = Alphabet(["a", "b"])  # classes: blank, a, b, space
    steps = [1, 1, 0, 1, 3, 2, 2, 0]
    probs = np.full((1, len(steps), 4), 0.01, np.float32)
    best = [0.9, 0.5, 0.8, 0.7, 0.6, 0.95, 0.3, 0.99]
    for t, (k, p) in enumerate(zip(steps, best)):
        probs[0, t, k] = p
    (text, confidence), = greedy_decode(probs, alphabet)
    assert text == "aa b"
    assert confidence == pytest.approx(np.mean([0.9, 0.7, 0.6, 0.95]))  # the first step of each kept run
    (empty, zero), = greedy_decode(np.eye(4, dtype=np.float32)[[0, 0, 0]][None], alphabet)
    assert (empty, zero) == ("", 0.0)


def test_dictionary_keeps_characters_that_strip_would_eat(tmp_path) -> None:
    path = tmp_path / "keys.txt"
    path.write_bytes("甲\r\n \r\n乙\n".encode("utf-8"))
    alphabet = Alphabet.from_file(path)
    assert alphabet.characters == ["", "甲", " ", "乙", " "]
    alphabet.check_classes(5, "test")
    with pytest.raises(Exception, match="do not belong together"):
        alphabet.check_classes(6625, "test")


# -- recognition batching -------------------------------------------------------------------------

def test_batches_cover_every_line_once_within_bounds() -> None:
    widths = list(np.random.default_rng(1).integers(20, 1500, 77))
    batches = plan_batches(widths, max_batch=16, max_columns=7680, min_width=0)
    assert sorted(i for b in batches for i in b) == list(range(77))
    for b in batches:
        assert len(b) <= 16
        assert len(b) == 1 or len(b) * padded_width(max(widths[i] for i in b)) <= 7680


def test_short_lines_are_not_padded_to_long_ones() -> None:
    widths = [60] * 10 + [1400, 1410]
    batches = plan_batches(widths, max_batch=16, max_columns=7680, min_width=0)
    assert sorted(map(sorted, batches)) == [list(range(8)), [8, 9], [10, 11]]  # 10 = 8 + 2: fixed batch sizes
    same = plan_batches([300] * 40, max_batch=16, max_columns=7680)
    assert len(same) == 3 and max(len(b) for b in same) <= 16  # as few calls as the batch size allows


def test_only_a_few_input_shapes_are_fed() -> None:
    # oneDNN compiles kernels per input shape; a varied stream of shapes would keep paying for that.
    widths = list(np.random.default_rng(2).integers(20, 1200, 300))
    batches = plan_batches(widths, max_batch=8, max_columns=7680, min_width=320)
    assert batch_sizes(8) == [1, 2, 4, 8] and batch_sizes(12) == [1, 2, 4, 8, 12]
    assert {len(b) for b in batches} <= {1, 2, 4, 8}
    padded = {padded_width(max(widths[i] for i in b), 320) for b in batches}
    assert all(p == 320 or p % 32 == 0 for p in padded) and len(padded) <= 30
    assert chunk_sizes(13, 16) == [8, 4, 1] and chunk_sizes(37, 16) == [16, 16, 4, 1] and chunk_sizes(0, 16) == []


def test_padding_width_respects_the_minimum_and_the_network_step() -> None:
    assert padded_width(61) == 64 and padded_width(61, 320) == 320 and padded_width(333, 320) == 352
    assert check_min_width(100, "min_width") == 104
    with pytest.raises(InputError, match="min_width"):
        check_min_width(-1, "min_width")


# -- image inputs ---------------------------------------------------------------------------------

def _png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def test_files_bytes_and_pil_images_become_bgr_and_arrays_are_taken_as_bgr(tmp_path) -> None:
    from PIL import Image

    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[..., 0] = 200  # red
    for source in (_png(rgb), Image.fromarray(rgb)):
        bgr = imagelib.to_bgr(source)
        assert bgr.shape == (4, 6, 3) and bgr[0, 0].tolist() == [0, 0, 200]
    path = tmp_path / "red.png"
    path.write_bytes(_png(rgb))
    assert imagelib.to_bgr(str(path))[0, 0].tolist() == [0, 0, 200]
    assert imagelib.to_bgr(rgb)[0, 0].tolist() == [200, 0, 0]  # arrays are BGR already: unchanged
    assert imagelib.to_bgr(np.full((3, 3), 7, np.uint8)).shape == (3, 3, 3)
    bgra = np.zeros((2, 2, 4), np.uint8)  # fully transparent: shown on white
    assert imagelib.to_bgr(bgra)[0, 0].tolist() == [255, 255, 255]


def test_exif_orientation_is_applied() -> None:
    from PIL import Image

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    Image.new("RGB", (40, 20), (0, 128, 0)).save(buffer, "JPEG", exif=exif)
    assert imagelib.to_bgr(buffer.getvalue()).shape == (40, 20, 3)


@pytest.mark.parametrize("bad, message", [
    (b"", "empty bytes"),
    (b"GIF89a broken", "not a readable image"),
    (np.zeros((0, 5, 3), np.uint8), "empty"),
    (np.zeros((5, 5, 2), np.uint8), "shape"),
    (np.full((4, 4, 3), 300, np.int32), "dtype"),
    (3.5, "got float"),
    ("/no/such/file.png", "no such file"),
])
def test_bad_images_raise_input_error_naming_the_item(bad, message) -> None:
    with pytest.raises(InputError, match=message) as info:
        imagelib.to_bgr(bad, "images[2]")
    assert "images[2]" in str(info.value)


def test_images_over_max_pixels_are_refused_before_decoding() -> None:
    big = _png(np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(InputError, match="max_pixels"):
        imagelib.to_bgr(big, max_pixels=9_999)
    with pytest.raises(InputError, match="no images given"):
        imagelib.gather(None, None)
    items = imagelib.gather([b"x"], ["a.png"])
    assert [where for _, where in items] == ["images[0]", "paths[0]"]
