"""cyclegan_cityscapes: translate street photos to label maps and back with CycleGAN. No published weights."""
from __future__ import annotations

from typing import Any

import hubcore
from hubcore.errors import InputError

from .base import GANModule

DIRECTIONS = ("photo2label", "label2photo")


class CycleGANCityscapes(GANModule):
    """CycleGAN on Cityscapes: direction="photo2label" (generator A) or "label2photo" (generator B)."""

    weights_artifact = "cyclegan_cityscapes_weights"
    default_image_size = 256
    center_crop = False  # PaddleCV resized whole 2:1 Cityscapes frames to 256x256

    @classmethod
    def build_network(cls) -> Any:
        from .cyclegan_net import CycleGANPair

        return CycleGANPair()

    def build_discriminator(self) -> Any:
        from .cyclegan_net import PatchDiscriminator

        return PatchDiscriminator()

    @hubcore.serving(default=True, batch="images")
    def generate(self, images: list[hubcore.Image] = (), direction: str = "photo2label",
                 output_dir: hubcore.OutputDir = "cyclegan_output", visualization: bool = True, batch_size: int = 1,
                 **legacy: Any) -> list[dict]:
        """Translate each image to the other domain: one PNG (base64, image_size square, default 256) per image.

        Args:
            images: street photos (photo2label) or Cityscapes colour label maps (label2photo).
            direction: "photo2label" or "label2photo".
            output_dir: folder where the translated images are saved when visualization is true;
                None (always over HTTP) writes nothing (the image is in "data").
            visualization: save each translated image as a PNG in output_dir.
            batch_size: images per forward pass.
        """
        images = self._images(images, legacy)
        if direction not in DIRECTIONS:
            raise InputError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        to_b = direction == "photo2label"
        outputs = self._run(images, lambda batch, start, end: self.network(batch, to_b), batch_size)
        return self._results(images, outputs, [direction] * len(images), output_dir, visualization)
