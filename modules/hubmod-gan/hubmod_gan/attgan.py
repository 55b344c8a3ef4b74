"""attgan_celeba: edit face attributes with AttGAN (13 CelebA attributes). No published weights."""
from __future__ import annotations

from typing import Any

import numpy as np

import hubcore

from .stgan import FaceEditingModule


class AttGANCeleba(FaceEditingModule):
    """AttGAN face attribute editing: give the source attributes (`info`) and what to change (`style`)."""

    weights_artifact = "attgan_celeba_weights"
    needs_gender = False
    sample_arguments = {"style": "Bangs"}

    @classmethod
    def build_network(cls) -> Any:
        from .attgan_net import AttGANGenerator

        return AttGANGenerator(n_attrs=len(cls.attrs))

    def build_discriminator(self) -> Any:
        from .attgan_net import attgan_discriminator

        return attgan_discriminator(len(self.attrs), self.image_size)

    @staticmethod
    def network_condition(sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        # PaddleCV's AttGAN inference: target labels mapped to {-0.5,0.5}, changed ones doubled to +-1.
        scaled = (targets * 2 - 1) * 0.5
        return np.where(targets != sources, scaled * 2, scaled).astype(np.float32)

    @hubcore.serving(default=True)
    def generate(self, images: list[hubcore.Image] = (), info: list[str] | str | None = None,
                 style: list[str] | str | None = None, output_dir: hubcore.OutputDir = "attgan_output",
                 visualization: bool = True, batch_size: int = 1, **legacy: Any) -> list[dict]:
        """Edit face attributes: one edited PNG (base64, image_size square, default 128) per image.

        Args:
            images: face photos (a central square is used; aligned CelebA-style crops work best).
            info: optional face attributes, e.g. "Male,Black_Hair" (default: Female, young); one for all or per image.
            style: attribute(s) to flip, comma-joined (Bald, Bangs, Black_Hair, Blond_Hair, Brown_Hair, Bushy_Eyebrows, Eyeglasses, Gender, Mouth_Slightly_Open, Mustache, No_Beard, Pale_Skin, Aged); one for all images or one per image.
            output_dir: folder where the edited images are saved when visualization is true;
                None (always over HTTP) writes nothing (the image is in "data").
            visualization: save each edited image as a PNG in output_dir.
            batch_size: images per forward pass.
        """
        return self._edit(images, info, style, output_dir, visualization, batch_size, legacy)
