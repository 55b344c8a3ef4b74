"""A module for the hostile-input tests (tests/test_serving_hardening_input.py): one method per
kind of argument an attack goes through (a rank-2 tensor, a dict, an untyped value, texts, images)."""
from __future__ import annotations

import hubcore
from hubcore.imaging import load_rgb


class HardeningTestModule(hubcore.Module):
    @hubcore.serving(default=True)
    def lengths(self, texts: list[str]) -> list[int]:
        """Length of each text.

        Args:
            texts: the texts
        """
        return [len(t) for t in texts]

    @hubcore.serving
    def matrix_sum(self, rows: list[list[int]]) -> int:
        """Sum of a matrix.

        Args:
            rows: the matrix, row by row
        """
        return sum(sum(r) for r in rows)

    @hubcore.serving
    def keys(self, options: dict) -> list[str]:
        """Top-level keys of an object.

        Args:
            options: any object
        """
        return sorted(options)

    @hubcore.serving
    def kind(self, value=None) -> str:
        """Python type name of an untyped value.

        Args:
            value: anything JSON carries
        """
        return type(value).__name__

    @hubcore.serving
    def shapes(self, images: list[hubcore.Image]) -> list[list[int]]:
        """Height, width, channels of each image, decoded by hubcore.imaging.

        Args:
            images: encoded image files
        """
        return [list(load_rgb(image, f"images[{i}]").shape) for i, image in enumerate(images)]
