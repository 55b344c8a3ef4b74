"""stgan_celeba: edit face attributes with STGAN (13 CelebA attributes). No published weights."""
from __future__ import annotations

from typing import Any

import numpy as np

import hubcore
from hubcore.errors import InputError

from .attributes import CELEBA_13, apply_style, broadcast, parse_info, user_styles
from .base import GANModule


class FaceEditingModule(GANModule):
    """STGAN and AttGAN: source attributes from `info`, attributes to change from `style`."""

    attrs = CELEBA_13
    size_multiple = 32
    needs_gender = True  # PaddleHub's stgan_celeba insisted on it; AttGAN's never asked

    def _conditions(self, images: list, info: Any, style: Any,
                    legacy_data: dict | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
        if isinstance(legacy_data, dict):
            info = legacy_data.get("info") if info is None else info
            style = legacy_data.get("style") if style is None else style
        if style is None:
            raise InputError(f"style: name the attribute(s) to change, one of {', '.join(user_styles(self.attrs))} "
                             f"(several joined by commas)")
        infos = broadcast(info, len(images), "info")
        styles = broadcast(style, len(images), "style")
        sources, targets = [], []
        for i, (inf, sty) in enumerate(zip(infos, styles)):
            source = parse_info(inf, self.attrs, need_gender=self.needs_gender, where=f"info[{i}]")
            sources.append(source)
            targets.append(apply_style(source, sty, self.attrs, where=f"style[{i}]"))
        return np.stack(sources), np.stack(targets), [s.strip() for s in styles]

    def _edit(self, images: list | None, info: Any, style: Any, output_dir: str | None, visualization: bool,
              batch_size: int, legacy: dict) -> list[dict]:
        import paddle

        data = legacy.get("data")
        images = self._images(images, legacy)
        sources, targets, labels = self._conditions(images, info, style, data)
        condition = self.network_condition(sources, targets)

        def forward(batch: Any, start: int, end: int) -> Any:
            return self.network(batch, paddle.to_tensor(condition[start:end]))

        outputs = self._run(images, forward, batch_size)
        return self._results(images, outputs, labels, output_dir, visualization)

    @staticmethod
    def network_condition(sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class STGANCeleba(FaceEditingModule):
    """STGAN face attribute editing: give the source attributes (`info`) and what to change (`style`)."""

    weights_artifact = "stgan_celeba_weights"
    sample_arguments = {"info": "Female,Black_Hair", "style": "Bangs"}

    @classmethod
    def build_network(cls) -> Any:
        from .stgan_net import STGANGenerator

        return STGANGenerator(n_attrs=len(cls.attrs))

    def build_discriminator(self) -> Any:
        from .stgan_net import AttributeDiscriminator

        return AttributeDiscriminator(len(self.attrs), self.image_size)

    @staticmethod
    def network_condition(sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        # PaddleCV feeds STGAN the difference of the two label vectors mapped from {0,1} to {-0.5,0.5}.
        return ((targets * 2 - 1) * 0.5 - (sources * 2 - 1) * 0.5).astype(np.float32)

    @hubcore.serving(default=True)
    def generate(self, images: list[hubcore.Image] = (), info: list[str] | str | None = None,
                 style: list[str] | str | None = None, output_dir: hubcore.OutputDir = "stgan_output",
                 visualization: bool = True, batch_size: int = 1, **legacy: Any) -> list[dict]:
        """Edit face attributes: one edited PNG (base64, image_size square, default 128) per image.

        Args:
            images: face photos (a central square is used; aligned CelebA-style crops work best).
            info: the face's attributes, e.g. "Female,Black_Hair" (must name Male or Female); one for all or per image.
            style: attribute(s) to flip, comma-joined (Bald, Bangs, Black_Hair, Blond_Hair, Brown_Hair, Bushy_Eyebrows, Eyeglasses, Gender, Mouth_Slightly_Open, Mustache, No_Beard, Pale_Skin, Aged); one for all images or one per image.
            output_dir: folder where the edited images are saved when visualization is true;
                None (always over HTTP) writes nothing (the image is in "data").
            visualization: save each edited image as a PNG in output_dir.
            batch_size: images per forward pass.
        """
        return self._edit(images, info, style, output_dir, visualization, batch_size, legacy)
