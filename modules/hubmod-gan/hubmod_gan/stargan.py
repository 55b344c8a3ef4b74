"""stargan_celeba: set hair colour, gender or age with StarGAN (5 CelebA attributes). No published weights."""
from __future__ import annotations

from typing import Any

import numpy as np

import hubcore
from hubcore.errors import InputError

from .attributes import CELEBA_5, apply_style, broadcast, parse_info, user_styles
from .base import GANModule


class StarGANCeleba(GANModule):
    """StarGAN face editing: `style` sets Black_Hair, Blond_Hair, Brown_Hair, Male, Female or Aged."""

    weights_artifact = "stargan_celeba_weights"
    attrs = CELEBA_5
    sample_arguments = {"style": "Blond_Hair"}

    @classmethod
    def build_network(cls) -> Any:
        from .stargan_net import StarGANGenerator

        return StarGANGenerator(n_attrs=len(cls.attrs))

    def build_discriminator(self) -> Any:
        from .stargan_net import StarGANDiscriminator

        return StarGANDiscriminator(len(self.attrs), self.image_size)

    @hubcore.serving(default=True)
    def generate(self, images: list[hubcore.Image] = (), style: list[str] | str | None = None,
                 info: list[str] | str | None = None, output_dir: hubcore.OutputDir = "stargan_output",
                 visualization: bool = True, batch_size: int = 1, **legacy: Any) -> list[dict]:
        """Edit faces towards target attributes: one PNG (base64, image_size square, default 128) per image.

        Args:
            images: face photos (a central square is used; aligned CelebA-style crops work best).
            style: attribute(s) to set (Black_Hair, Blond_Hair, Brown_Hair, Male, Female, Aged), comma-joined.
            info: optional source attributes, e.g. "Male,Brown_Hair", kept where style leaves them (default Female, young).
            output_dir: folder where the edited images are saved when visualization is true;
                None (always over HTTP) writes nothing (the image is in "data").
            visualization: save each edited image as a PNG in output_dir.
            batch_size: images per forward pass.
        """
        import paddle

        data = legacy.get("data")
        images = self._images(images, legacy)
        if isinstance(data, dict):
            style = data.get("style") if style is None else style
            info = data.get("info") if info is None else info
        if style is None:
            raise InputError(f"style: name the target attribute(s), one of {', '.join(user_styles(self.attrs))}")
        styles = broadcast(style, len(images), "style")
        targets = np.stack([
            apply_style(parse_info(inf, self.attrs, need_gender=False, where=f"info[{i}]"), sty, self.attrs,
                        where=f"style[{i}]")
            for i, (inf, sty) in enumerate(zip(broadcast(info, len(images), "info"), styles))
        ])

        def forward(batch: Any, start: int, end: int) -> Any:
            return self.network(batch, paddle.to_tensor(targets[start:end]))

        outputs = self._run(images, forward, batch_size)
        return self._results(images, outputs, [s.strip() for s in styles], output_dir, visualization)
