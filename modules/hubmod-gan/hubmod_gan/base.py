"""What the four GAN modules share: weights, input checks, batching, saving and returning images."""
from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np

import hubcore
from hubcore.errors import InputError

from hubcore.imaging import image_stem, load_rgb, png_base64, png_bytes, save_png
from hubcore.weights import module_network, set_trainable


class GANModule(hubcore.Module):
    """Base of the GAN modules; subclasses name their artifact and build their network."""

    weights_artifact: ClassVar[str]
    default_image_size: ClassVar[int] = 128
    size_multiple: ClassVar[int] = 4  # the generator halves the size this many times, then doubles back
    center_crop: ClassVar[bool] = True  # CelebA models see the central square of a face photo

    def __init__(self, pretrained: bool = True, image_size: int | None = None):
        size = self.default_image_size if image_size is None else image_size
        multiple = self.size_multiple
        if not isinstance(size, int) or isinstance(size, bool) or size < multiple or size % multiple:
            raise InputError(f"image_size must be a positive multiple of {self.size_multiple} (default "
                             f"{self.default_image_size}), got {image_size!r}")
        self.image_size = size
        self.network, self.random_weights = module_network(self, self.weights_artifact, self.build_network,
                                                           pretrained)

    @classmethod
    def build_network(cls) -> Any:
        """The generator(s) with random weights: what the weights artifact fills in."""
        raise NotImplementedError

    # -- shared plumbing -------------------------------------------------------------------------
    def _images(self, images: Any, legacy: dict, where: str = "images") -> list:
        data = legacy.pop("data", None)
        if legacy:
            raise InputError(f"unknown argument(s) {sorted(legacy)}; see help({type(self).__name__}.generate)")
        if isinstance(images, (list, tuple)):
            images = list(images)
        else:
            images = [] if images is None else [images]
        if not images and isinstance(data, dict):
            images = list(data.get("image") or [])
        if not images:
            raise InputError(f"{where}: give at least one image, e.g. images=[\"face.jpg\"]")
        return images

    def _preprocess(self, rgb: np.ndarray) -> np.ndarray:
        from PIL import Image

        img = Image.fromarray(rgb)
        if self.center_crop:
            side = min(img.size)
            left, top = (img.size[0] - side) // 2, (img.size[1] - side) // 2
            img = img.crop((left, top, left + side, top + side))
        img = img.resize((self.image_size, self.image_size), Image.BILINEAR)
        return (np.asarray(img, dtype=np.float32) / 127.5 - 1.0).transpose(2, 0, 1)

    def _run(self, images: list, forward: Callable[[Any, int, int], Any], batch_size: int) -> list[np.ndarray]:
        """Decode, preprocess and push images through forward(batch_tensor, start, end) in batches."""
        import paddle

        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        arrays = [self._preprocess(load_rgb(img, f"images[{i}]")) for i, img in enumerate(images)]
        outputs = []
        with paddle.no_grad():
            for start in range(0, len(arrays), batch_size):
                end = min(start + batch_size, len(arrays))
                batch = paddle.to_tensor(np.stack(arrays[start:end]))
                out = forward(batch, start, end).numpy()
                outputs += [((o.transpose(1, 2, 0) + 1.0) * 127.5).clip(0, 255).round().astype(np.uint8) for o in out]
        return outputs

    def _results(self, images: list, outputs: list[np.ndarray], labels: list[str], output_dir: str | None,
                 visualization: bool) -> list[dict]:
        """The image is always in "data"; it is also written when visualizing into a folder (over HTTP
        output_dir is None: nothing is written, "save_path" stays None)."""
        results = []
        for i, (image, out, label) in enumerate(zip(images, outputs, labels)):
            data = png_bytes(out)
            path = None
            if visualization and output_dir is not None:
                stem = f"{image_stem(image, i)}_{label}".replace(",", "+").replace("/", "_")
                path = save_png(data, output_dir, stem)
            results.append({"style": label, "save_path": path, "data": png_base64(out)})
        return results

    def context(self, trainable: bool = True) -> hubcore.Context:
        """The generator for training (from these weights, or from scratch with pretrained=False).

        extra["reconstruction_loss"](images, attributes) is the network's reconstruction term,
        extra["discriminator"] a freshly initialised discriminator for adversarial training.
        """
        net = set_trainable(self.network, trainable)

        def preprocess(images: list) -> np.ndarray:
            return np.stack([self._preprocess(load_rgb(img, f"images[{i}]")) for i, img in enumerate(images)])

        return hubcore.Context(
            backbone=net,
            feature_size=3,
            preprocess=preprocess,
            task="image_generation",
            extra={
                "image_size": self.image_size,
                "reconstruction_loss": net.reconstruction_loss,
                "discriminator": self.build_discriminator(),
                "random_weights": self.random_weights,
            },
        )

    def build_discriminator(self) -> Any:
        raise NotImplementedError

    sample_arguments: ClassVar[dict] = {}

    @classmethod
    def sample_input(cls) -> dict:
        """Keyword arguments for the default signature, used by `hub check`."""
        rng = np.random.default_rng(0)
        image = rng.integers(0, 256, (cls.default_image_size, cls.default_image_size, 3), dtype=np.uint8)
        return {"images": [image], "visualization": False, **cls.sample_arguments}
