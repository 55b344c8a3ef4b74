"""Rendered OCR test pages (used by the OCR tests and tools/bench/bench_ocr.py), and checks of the renderer.

Pages are drawn with PIL in the WenQuanYi Micro Hei font (Debian package fonts-wqy-microhei):
several lines mixing Chinese, English, digits and punctuation, dark text on a light coloured
background, the whole page turned by a small angle. Each page is fixed by its seed.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FONT_HINT = ("the OCR tests render their images with the WenQuanYi Micro Hei font; install it with "
             "`apt-get update && apt-get install -y fonts-wqy-microhei` (tools/dev_setup.sh does)")

LINES = [
    "欢迎光临 Welcome to Store #1024",
    "订单编号：20241122-0835",
    "商品名称 数量 单价 金额",
    "苹果 Apple x3 ¥12.50",
    "牛奶 Milk 2L x1 ¥18.00",
    "合计：¥35.00（含税 6%）",
    "Tel: 010-8888 6666",
    "谢谢惠顾，欢迎再次光临！",
    "深度学习 OCR 识别率 99.5%",
    "地址：北京市海淀区上地十街10号",
    "Hello, World! 你好，世界。",
    "会员卡号 No. 6222 0210 0011 2233",
    "营业时间 09:00-22:00",
    "PaddlePaddle 飞桨 v3.3",
    "找零 Change: ¥4.50",
    "发票抬头：个人",
    "Email: service@example.com",
    "第3排 第12座 A区",
]


# Receipt rows: item, quantity, price; drawn as three cells far apart, so they are separate boxes.
ITEMS = [("苹果", "x3", "¥12.50"), ("牛奶 Milk", "x1", "¥18.00"), ("面包", "x2", "¥9.90"), ("Coffee 咖啡", "x1", "¥28.00"),
         ("矿泉水", "x6", "¥12.00"), ("鸡蛋 Eggs", "x12", "¥15.60"), ("香蕉", "x5", "¥7.45"), ("酸奶", "x4", "¥22.00"),
         ("Tea 绿茶", "x2", "¥11.00"), ("大米 5kg", "x1", "¥39.90"), ("纸巾", "x3", "¥8.70"), ("橙汁 OJ", "x2", "¥13.80")]
HEADERS = ["超市购物小票", "RECEIPT", "便利店 No.0086", "收银单"]
FOOTERS = ["合计：¥{total}", "Total: ¥{total}", "实收 ¥{total}"]


def font_path() -> Path:
    if not FONT.is_file():
        raise FileNotFoundError(FONT_HINT)
    return FONT


def render_page(seed: int, size: tuple[int, int] = (800, 600), n_lines: int = 7, angle: float | None = None
                ) -> tuple[np.ndarray, list[str]]:
    """A BGR page with n_lines of text, and those texts in drawing order (top to bottom)."""
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    width, height = size
    background = tuple(rng.randint(205, 250) for _ in range(3))
    page = Image.new("RGB", size, background)
    pen = ImageDraw.Draw(page)
    texts = rng.sample(LINES, n_lines)
    slot = (height - 40) / n_lines
    drawn = []
    for k, text in enumerate(texts):
        font_size = int(min(slot * rng.uniform(0.45, 0.65), 40))
        font = ImageFont.truetype(str(font_path()), max(16, font_size))
        while pen.textlength(text, font=font) > width - 60 and font.size > 16:
            font = ImageFont.truetype(str(font_path()), font.size - 2)
        colour = tuple(rng.randint(0, 70) for _ in range(3))
        x = rng.randint(20, max(21, int(width - 30 - pen.textlength(text, font=font))))
        y = int(20 + k * slot + rng.uniform(0, max(1.0, slot - font.size * 1.3)))
        pen.text((x, y), text, fill=colour, font=font)
        drawn.append(text)
    turn = rng.uniform(-3.0, 3.0) if angle is None else angle
    if turn:
        page = page.rotate(turn, resample=Image.BICUBIC, expand=False, fillcolor=background)
    rgb = np.asarray(page, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1]), drawn


def render_receipt(seed: int, size: tuple[int, int] = (600, 800), n_items: int = 6, angle: float | None = None
                   ) -> tuple[np.ndarray, list[str]]:
    """A BGR receipt: a title, rows of item / quantity / price cells, a total; and the strings drawn."""
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    width, height = size
    background = tuple(rng.randint(215, 252) for _ in range(3))
    page = Image.new("RGB", size, background)
    pen = ImageDraw.Draw(page)
    colour = tuple(rng.randint(0, 60) for _ in range(3))
    rows = rng.sample(ITEMS, n_items)
    slot = (height - 60) / (n_items + 3)
    font = ImageFont.truetype(str(font_path()), int(min(34, max(16, slot * rng.uniform(0.42, 0.55)))))
    drawn = []

    def put(text: str, x: float, y: float) -> None:
        pen.text((int(x), int(y)), text, fill=colour, font=font)
        drawn.append(text)

    title = rng.choice(HEADERS)
    put(title, (width - pen.textlength(title, font=font)) / 2, 30)
    total = 0.0
    for k, (item, qty, price) in enumerate(rows, start=1):
        y = 30 + k * slot + rng.uniform(0, slot * 0.2)
        put(item, 30, y)
        put(qty, width * 0.55, y)
        put(price, width - 30 - pen.textlength(price, font=font), y)
        total += float(price[1:])
    footer = rng.choice(FOOTERS).format(total=f"{total:.2f}")
    put(footer, width - 30 - pen.textlength(footer, font=font), 30 + (n_items + 1.5) * slot)
    turn = rng.uniform(-2.5, 2.5) if angle is None else angle
    if turn:
        page = page.rotate(turn, resample=Image.BICUBIC, expand=False, fillcolor=background)
    rgb = np.asarray(page, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1]), drawn


def render_line(text: str, font_size: int = 32, background: tuple[int, int, int] = (235, 240, 250)) -> np.ndarray:
    """A BGR image of one text line with a small margin, as a line crop looks."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path()), font_size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    page = Image.new("RGB", (right - left + 16, bottom - top + 12), background)
    ImageDraw.Draw(page).text((8 - left, 6 - top), text, fill=(20, 20, 20), font=font)
    return np.ascontiguousarray(np.asarray(page, dtype=np.uint8)[:, :, ::-1])


SIZES = [(800, 600), (640, 480), (1024, 768), (600, 800)]


def page_set(count: int, first_seed: int = 0) -> list[tuple[np.ndarray, list[str]]]:
    """count varied pages, alternately text pages and receipts (sizes and line counts vary with the seed)."""
    pages = []
    for i in range(count):
        seed = first_seed + i
        size = SIZES[seed % len(SIZES)]
        if seed % 2:
            pages.append(render_receipt(seed, size=(min(size), max(size)), n_items=4 + seed % 5))
        else:
            pages.append(render_page(seed, size=size, n_lines=5 + seed % 4))
    return pages


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def char_accuracy(predicted: list[str], reference: list[str]) -> float:
    """1 - total edit distance / total reference characters, over paired lines."""
    total = sum(len(r) for r in reference)
    errors = sum(edit_distance(p, r) for p, r in zip(predicted, reference))
    return 1.0 - errors / max(1, total)


# -- checks of the helpers themselves ------------------------------------------------------------

def test_the_cjk_font_is_installed() -> None:
    assert FONT.is_file(), FONT_HINT


def test_pages_are_reproducible_and_varied() -> None:
    a, texts_a = render_page(3, size=(640, 480), n_lines=6)
    b, texts_b = render_page(3, size=(640, 480), n_lines=6)
    c, _ = render_page(4, size=(640, 480), n_lines=6)
    assert a.shape == (480, 640, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and texts_a == texts_b
    assert not np.array_equal(a, c)
    dark = (a.mean(axis=2) < 100).mean()
    assert 0.005 < dark < 0.3, f"the page should hold some dark text pixels, got a share of {dark:.4f}"


def test_edit_distance_and_accuracy() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance("合计：¥35", "合计:¥35") == 1
    assert char_accuracy(["abcd"], ["abce"]) == pytest.approx(0.75)
