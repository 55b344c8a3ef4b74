"""`hubcore.Module`: the base class every plugin subclasses, and `hub.Module(name=...)` the loader.

Calling the base class itself (`hub.Module(name="lac")`, `hub.Module(directory="./mymod")`) finds,
checks and constructs the named module, as PaddleHub users expect. Calling a subclass constructs it
directly. Metadata comes from the package's hubmodule.toml, not from class attributes, so listing
modules never imports their code.
"""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from .errors import ManifestError, NotSupported
from .manifest import MANIFEST_NAME, ArtifactSpec, ModuleManifest, Requirements, read_manifest
from .signatures import Signature, collect_signatures, default_signature


@dataclass
class Context:
    """What a trainer needs to fine-tune a module (PaddleHub's `module.context(trainable=True)`)."""

    backbone: Any  # a paddle.nn.Layer mapping preprocessed inputs to features
    feature_size: int  # width of the backbone's output features
    preprocess: Callable[..., Any]  # raw example(s) -> model-ready input (numpy arrays)
    task: str = "classification"  # what the features suit: "classification", "sequence_labeling", ...
    extra: dict = field(default_factory=dict)  # module-specific details (input size, vocab, ...)


class _ModuleMeta(type):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is Module:
            from .loader import load_module

            return load_module(*args, **kwargs)
        return super().__call__(*args, **kwargs)


class Module(metaclass=_ModuleMeta):
    """Base class of every hub module. Subclasses implement their methods and mark them @serving."""

    # Set by the loader; found from the class's own package when a subclass is constructed directly.
    _hub_manifest: ClassVar[ModuleManifest | None] = None
    _hub_signatures: ClassVar[dict[str, Signature] | None] = None

    # -- metadata ---------------------------------------------------------------------------------
    @classmethod
    def manifest(cls) -> ModuleManifest:
        if cls.__dict__.get("_hub_manifest") is None:
            cls._hub_manifest = _manifest_for_class(cls)
        return cls.__dict__["_hub_manifest"]

    @property
    def name(self) -> str:
        return self.manifest().name

    @property
    def version(self) -> str:
        return self.manifest().known_version

    @property
    def category(self) -> str:
        return self.manifest().category

    @property
    def summary(self) -> str:
        return self.manifest().summary

    @property
    def license(self) -> str:
        return self.manifest().license

    @property
    def pretrained(self) -> bool:
        """True when the module's weights are real published pretrained weights."""
        return self.manifest().pretrained

    @property
    def artifacts(self) -> tuple[ArtifactSpec, ...]:
        return self.manifest().artifacts

    @property
    def requires(self) -> Requirements:
        return self.manifest().requires

    @classmethod
    def serving_signatures(cls) -> dict[str, Signature]:
        """The class's @serving methods' signatures, collected once per class."""
        if cls.__dict__.get("_hub_signatures") is None:
            cls._hub_signatures = collect_signatures(cls)
        return cls.__dict__["_hub_signatures"]

    @property
    def signatures(self) -> dict[str, Signature]:
        return self.serving_signatures()

    @property
    def default_signature(self) -> Signature:
        return default_signature(self.signatures, self.name)

    # -- artifacts --------------------------------------------------------------------------------
    def artifact(self, name: str) -> Path:
        """Local path of a declared artifact: fetched, verified and cached on first use."""
        from .artifacts import fetch_artifact

        m = self.manifest()
        return fetch_artifact(m.artifact(name), module=m.name, version=self.version)

    def cached_build(self, key: str, build: Callable[[Path], None], *, inputs: tuple[str, ...] = (),
                     builder_version: str = "1") -> Path:
        """A folder derived from artifacts (converted weights, exported programs), built once.

        build(folder) writes into an empty temporary folder; it is moved into the cache only when
        build returns. The cache key is the module, key, builder_version and the sha256 of every
        artifact named in inputs, so new weights or a new builder rebuild it.
        """
        from .artifacts import cached_build

        m = self.manifest()
        hashes = tuple(m.artifact(a).sha256 or self._unpinned_sha(a) for a in inputs)
        return cached_build(module=m.name, version=self.version, key=key, build=build,
                            input_hashes=hashes, builder_version=builder_version)

    def _unpinned_sha(self, artifact: str) -> str:
        # Provided or development (file: without sha256) artifacts: fetch first so the recorded hash is current.
        from .artifacts import provided_sha256

        self.artifact(artifact)
        return provided_sha256(self.name, self.version, artifact)

    # -- the uniform interface --------------------------------------------------------------------
    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """Run the default signature's method."""
        return getattr(self, self.default_signature.name)(*args, **kwargs)

    def context(self, trainable: bool = True) -> Context:
        """Backbone, feature size and preprocessing for fine-tuning."""
        raise NotSupported(f"module {self.name!r} does not offer a fine-tuning context")

    def export(self, path: str | Path) -> Path:
        """Write a Paddle inference model (model + params) under path and return the folder."""
        raise NotSupported(f"module {self.name!r} does not support export to a Paddle inference model")

    def __repr__(self) -> str:
        try:
            return f"<hub module {self.name} {self.version} ({self.category})>"
        except Exception:
            return f"<hub module {type(self).__qualname__}>"




def _manifest_for_class(cls: type) -> ModuleManifest:
    """Find the hubmodule.toml next to (or above) the file defining cls, and its entry for cls."""
    module = sys.modules.get(cls.__module__)
    path = Path(inspect.getfile(module or cls)).resolve()
    for folder in path.parents:
        candidate = folder / MANIFEST_NAME
        if candidate.is_file():
            manifests = read_manifest(candidate)
            for m in manifests.values():
                if m.entry.rpartition(":")[2] == cls.__qualname__:
                    if m.version is None:
                        from .discovery import distribution_version

                        m = _with_version(m, distribution_version(m.package))
                    return m
            raise ManifestError(f"{candidate} declares no module whose class is {cls.__qualname__}; "
                                f"add [modules.NAME] with class = \"{cls.__module__}:{cls.__qualname__}\"")
        if folder.parent == folder or (folder / "site-packages").exists():
            break
    raise ManifestError(f"no {MANIFEST_NAME} found above {path}; a module package ships one in its package folder")


def _with_version(m: ModuleManifest, version: str | None) -> ModuleManifest:
    from dataclasses import replace

    return replace(m, version=version)
