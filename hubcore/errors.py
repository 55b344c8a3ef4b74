"""One exception tree for the hub. Every message says what went wrong and what to type next."""
from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose; catch this to catch them all."""


class ModuleNotFound(HubError):
    """No installed module has that name (or no installed version matches the request)."""


class ModuleLoadError(HubError):
    """A module was found but its code or manifest could not be loaded."""


class ManifestError(HubError):
    """A module package's hubmodule.toml is missing a field or holds a wrong one."""


class RequirementError(HubError):
    """A requirement of a module (paddle, another module, a python package) is not met."""


class ResolutionError(RequirementError):
    """Module dependencies cannot be satisfied together; the message is the conflict chain."""


class RegistryError(HubError):
    """registry.json could not be read or does not follow the schema."""


class ArtifactError(HubError):
    """Base of errors about fetching, verifying or unpacking an artifact."""


class ArtifactNotAvailable(ArtifactError):
    """The artifact has no published source, or the source cannot be reached (offline, 404)."""


class IntegrityError(ArtifactError):
    """Downloaded or cached bytes do not match the declared sha256 or size."""


class CacheNotWritable(ArtifactError):
    """The artifact cache (HUB_HOME) cannot be written: read-only, not ours, or full."""


class UnsafeArchiveError(ArtifactError):
    """An archive member would land outside the extraction folder (absolute path, '..', link)."""


class InputError(HubError, ValueError):
    """A caller passed a bad argument; the message names the argument and what is accepted."""


class NotSupported(HubError):
    """The module does not offer this operation (for example export or fine-tuning)."""


class WeightsNotPublished(ArtifactNotAvailable):
    """No pretrained weights are published for this module; the message says how to provide them."""
