"""Turn a PaddleHub module folder into the safetensors weights file one of our modules loads.

    hub import-paddlehub ~/.paddlehub/modules/ace2p --module ace2p --out ace2p.safetensors
    hub download ace2p --artifact ace2p_weights --from ace2p.safetensors

PATH is the module folder PaddleHub downloaded (or one weight file in it). Understood layouts:
  - an inference model: NAME.pdmodel + NAME.pdiparams (or paddle 3's NAME.json + NAME.pdiparams),
    `__model__` + `__params__`, or `__model__` + one file per parameter;
  - a state dict: NAME.pdparams.
Nothing in those files is executed: they are read by hubcore.formats.pdparams (a restricted
unpickler and a parser for Paddle's tensor and program formats), never by pickle or paddle.load.

Parameters are matched to the module's network by structured name when the files carry the
network's own names (`.pdiparams.info`, or a .pdparams saved from this network); otherwise by
order, the order the program's ops use them (or the .pdparams order), with every shape checked.
That order only lines up when the source network has the same layers in the same order: a
mismatch stops with the first differing parameter, and nothing is written.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hubcore.errors import HubError, InputError

PROGRAM_SUFFIXES = (".pdmodel", ".json")


@dataclass
class Source:
    kind: str  # "inference model" or "state dict"
    files: tuple[Path, ...]
    arrays: dict[str, np.ndarray]  # in use order
    structured: dict[str, str]  # parameter name -> the source network's structured name, when known


@dataclass
class ImportResult:
    out: Path
    artifact: str  # the module's artifact the file is for
    sha256: str
    size: int
    tensors: int
    matched_by: str  # "names" or "order"
    zero_filled: list[str]  # training-only parameters the source did not have, written as zeros
    source: Source


def _candidates(folder: Path) -> list[tuple[str, tuple[Path, ...]]]:
    found = []
    for params in sorted(folder.rglob("*.pdiparams")):
        program = next((params.with_suffix(s) for s in PROGRAM_SUFFIXES if params.with_suffix(s).is_file()), None)
        if program is not None:
            found.append(("inference model", (program, params)))
    for program in sorted(folder.rglob("__model__")):
        combined = program.with_name("__params__")
        found.append(("inference model", (program, combined if combined.is_file() else program.parent)))
    for state in sorted(folder.rglob("*.pdparams")):
        found.append(("state dict", (state,)))
    return found


def find_source(path: str | Path) -> tuple[str, tuple[Path, ...]]:
    """The one set of weight files at path (a folder is searched; several candidates is an error)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"{path} does not exist; give the PaddleHub module folder (e.g. ~/.paddlehub/modules/ace2p)")
    if path.is_file():
        if path.suffix == ".pdparams":
            return "state dict", (path,)
        if path.suffix == ".pdiparams" or path.suffix in PROGRAM_SUFFIXES:
            stem = path.with_suffix("")
            program = next((stem.with_suffix(s) for s in PROGRAM_SUFFIXES if stem.with_suffix(s).is_file()), None)
            params = stem.with_suffix(".pdiparams")
            if program is None or not params.is_file():
                raise InputError(f"{path}: an inference model needs both {stem.name}.pdmodel (or .json) and "
                                 f"{stem.name}.pdiparams next to each other")
            return "inference model", (program, params)
        if path.name in ("__model__", "__params__"):
            program = path.with_name("__model__")
            combined = path.with_name("__params__")
            return "inference model", (program, combined if combined.is_file() else path.parent)
        raise InputError(f"{path}: not a Paddle weight file (.pdparams, .pdiparams, .pdmodel, __model__)")
    found = _candidates(path)
    if not found:
        raise InputError(f"no Paddle weights under {path}: expected NAME.pdmodel + NAME.pdiparams, __model__ "
                         f"(+ __params__ or per-parameter files) or NAME.pdparams")
    if len(found) > 1:
        listed = "\n  ".join(str(files[0]) for _, files in found)
        raise InputError(f"several weight sets under {path}; pass the one to import:\n  {listed}")
    return found[0]


def read_source(path: str | Path) -> Source:
    from hubcore.formats import pdparams

    kind, files = find_source(path)
    structured: dict[str, str] = {}
    if kind == "state dict":
        arrays = pdparams.read_pdparams(files[0])
    else:
        arrays = pdparams.read_inference_model(files[0], files[1])
        info = Path(str(files[1]) + ".info")
        if info.is_file():
            structured = pdparams.read_pdiparams_info(info)
    return Source(kind=kind, files=files, arrays=arrays, structured=structured)


def module_network(name: str) -> tuple[Any, str, tuple[str, ...]]:
    """(network with placeholder weights, weights artifact name, prefixes of training-only parameters)."""
    import paddle

    from hubcore.discovery import find_entries
    from hubcore.loader import import_entry

    entries = [e for e in find_entries(name) if e.ok]
    if not entries:
        raise InputError(f"no installed module named {name!r}; install it first (`hub install {name}`)")
    cls = import_entry(entries[0].manifest)
    if not hasattr(cls, "build_network") or not hasattr(cls, "weights_artifact"):
        raise InputError(f"module {name!r} does not support importing PaddleHub weights")
    with paddle.LazyGuard():  # only names and shapes are needed
        network = cls.build_network()
    return network, cls.weights_artifact, tuple(getattr(cls, "training_only_parameters", ()))


def match(source: Source, target: dict[str, tuple[tuple[int, ...], str]],
          training_only: tuple[str, ...] = ()) -> tuple[dict[str, np.ndarray], str, list[str]]:
    """Source arrays under the target's names: by structured or exact name when they all fit, else by order.

    An inference program keeps only what its outputs need: parameters the module lists as
    training-only (heads used by the training loss alone) may be absent; they come back as zeros
    and are named in the third value.
    """
    renamed = {source.structured.get(k, k): v for k, v in source.arrays.items()}
    optional = [k for k in target if k.startswith(training_only)] if training_only else []
    for absent in ([], optional):
        needed = {k: v for k, v in target.items() if k not in absent}
        if set(renamed) == set(needed):
            _check_shapes(renamed, needed, how="name")
            return _with_zeros(renamed, target, absent), "names", list(absent)
    for absent in ([], optional):
        needed = {k: v for k, v in target.items() if k not in absent}
        if len(source.arrays) == len(needed):
            return _with_zeros(_by_order(source, needed), target, absent), "order", list(absent)
    raise InputError(
        f"the {source.kind} at {source.files[0]} has {len(source.arrays)} parameters but the module's network "
        f"has {len(target)}{f' ({len(target) - len(optional)} without its training-only heads)' if optional else ''}; "
        f"it was made for a different network or configuration, so it cannot be imported")


def _with_zeros(arrays: dict[str, np.ndarray], target: dict, absent: list[str]) -> dict[str, np.ndarray]:
    out = dict(arrays)
    for name in absent:
        out[name] = np.zeros(target[name][0], dtype=target[name][1])
    return out


def _by_order(source: Source, target: dict[str, tuple[tuple[int, ...], str]]) -> dict[str, np.ndarray]:
    out = {}
    for i, ((src_name, array), (dst_name, (shape, _))) in enumerate(zip(source.arrays.items(), target.items())):
        if tuple(array.shape) != tuple(shape):
            raise InputError(
                f"parameter #{i} does not line up: the source's {src_name!r} has shape {tuple(array.shape)}, the "
                f"network's {dst_name!r} needs {tuple(shape)}; the source network's layers differ from the module's, "
                f"so it cannot be imported by order")
        out[dst_name] = array
    return out


def _check_shapes(arrays: dict[str, np.ndarray], target: dict, how: str) -> None:
    for name, (shape, _) in target.items():
        if tuple(arrays[name].shape) != tuple(shape):
            raise InputError(f"parameter {name!r} (matched by {how}) has shape {tuple(arrays[name].shape)}, "
                             f"the network needs {tuple(shape)}")


def import_paddlehub(path: str | Path, module: str, out: str | Path) -> ImportResult:
    """Convert the weights at path for module and write them to out (safetensors)."""
    from safetensors.numpy import save_file

    source = read_source(path)
    network, artifact, training_only = module_network(module)
    target = {k: (tuple(v.shape), str(v.dtype).replace("paddle.", "")) for k, v in network.state_dict().items()}
    arrays, how, zeroed = match(source, target, training_only)
    tensors = {k: np.ascontiguousarray(arrays[k]).astype(target[k][1], copy=False) for k in target}
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    save_file(tensors, str(tmp), metadata={"hub_module": module, "hub_artifact": artifact,
                                           "converted_from": f"PaddleHub {source.kind}", "matched_by": how,
                                           "zero_filled": ",".join(zeroed)})
    tmp.replace(out)
    digest = hashlib.sha256()
    with open(out, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return ImportResult(out=out, artifact=artifact, sha256=digest.hexdigest(), size=out.stat().st_size,
                        tensors=len(tensors), matched_by=how, zero_filled=zeroed, source=source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hub import-paddlehub", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="PaddleHub module folder (e.g. ~/.paddlehub/modules/ace2p) or a weight file in it")
    parser.add_argument("--module", required=True, help="our module the weights are for (e.g. ace2p, stgan_celeba)")
    parser.add_argument("--out", required=True, help="safetensors file to write")
    args = parser.parse_args(argv)
    try:
        result = import_paddlehub(args.path, args.module, args.out)
    except HubError as exc:
        print(f"hub: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {result.out} ({result.size} bytes, {result.tensors} tensors, matched by {result.matched_by} "
          f"from the {result.source.kind} {result.source.files[0]})")
    if result.zero_filled:
        print(f"note: {len(result.zero_filled)} training-only parameters were not in the source (an inference "
              f"program drops them) and are zeros: {', '.join(result.zero_filled)}")
    print(f"sha256 {result.sha256}")
    print(f"install it with: hub download {args.module} --artifact {result.artifact} --from {result.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
