"""Trainer.save_module: a fine-tuned model as a module development folder with its own weights.

    folder/
      hubmodule.toml        the module (pretrained = true), requiring its base module at the exact
                            version, with weights.safetensors declared as a file:// artifact + sha256
      module.py             a two-line class over hubcore.finetune.finetuned
      finetune.json         base module, context arguments, task, label list, input kind, metrics
      weights.safetensors   every weight of the model (the base's fine-tuned ones and the head's)
      README.md

`hub.Module(directory=folder)` loads it: the base module builds the architecture and preprocessing
through its context, then the fine-tuned weights replace all of its parameters. The artifact's
file:// source is the absolute path of weights.safetensors: after moving the folder, save it again
(or edit the source); its sha256 guards against a changed or swapped file.

The base module comes from model.context.extra ("module", "module_version", "context_args"), which
a module's context() fills in, or from the base argument (a module instance or "name==version").
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from ..errors import InputError
from .checkpoint import model_arrays, save_arrays

CONFIG_FILE = "finetune.json"
WEIGHTS_FILE = "weights.safetensors"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CLASSES = {
    ("classification", "image"): "FinetunedImageClassifier",
    ("classification", "text"): "FinetunedTextClassifier",
    ("sequence_labeling", "text"): "FinetunedSequenceLabeler",
}


def base_of(model: Any, base: Any) -> dict[str, Any]:
    """{"name", "version", "context_args", "license", "paddle"} of the module the model was built on."""
    extra = dict(getattr(model.context, "extra", None) or {})
    info: dict[str, Any] = {"context_args": dict(extra.get("context_args") or {}), "license": "unknown",
                            "paddle": None}
    if base is None:
        info["name"], info["version"] = extra.get("module"), extra.get("module_version")
    elif isinstance(base, str):
        info["name"], _, info["version"] = base.partition("==")
    else:
        info["name"], info["version"] = getattr(base, "name", None), getattr(base, "version", None)
        info["license"] = getattr(base, "license", "unknown")
        info["paddle"] = getattr(getattr(base, "requires", None), "paddle", None)
    if not info["name"]:
        raise InputError("save_module cannot tell which module the model's context came from; pass "
                         "base=the_module (the instance whose context() you trained) or base='name==version'")
    if not info["version"]:
        from ..discovery import find_entries

        versions = sorted({e.version for e in find_entries(info["name"]) if e.ok})
        if len(versions) != 1:
            raise InputError(f"save_module: base module {info['name']!r} is installed at {versions or 'no version'}; "
                             f"pass base='{info['name']}==VERSION'")
        info["version"] = versions[0]
    return info


def write_module_folder(folder: Path, model: Any, *, name: str, version: str, base: Any, input_kind: str | None,
                        summary: str = "", metrics: dict[str, float] | None = None) -> Path:
    """Write the development folder (replacing an earlier save_module output there); return it."""
    from packaging.version import InvalidVersion, Version

    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(f"name={name!r}: expected lower-case letters, digits and _ starting with a letter, "
                         f"e.g. 'flowers_mobilenet'")
    try:
        Version(version)
    except (InvalidVersion, TypeError):
        raise InputError(f"version={version!r} is not a PEP 440 version; write e.g. '1.0.0'") from None
    kind = input_kind or getattr(model, "input_kind", None)
    class_name = _CLASSES.get((model.task, kind))
    if class_name is None:
        raise InputError(f"save_module writes {sorted(_CLASSES)} (task, input kind) models; this one is "
                         f"({model.task!r}, {kind!r}). Train it on a hubcore.finetune Dataset, which says its input kind")
    folder = folder.expanduser().resolve()
    if folder.exists() and any(folder.iterdir()) and not (folder / CONFIG_FILE).is_file():
        raise InputError(f"{folder} exists and is not an earlier save_module folder; give an empty or new folder")
    info = base_of(model, base)
    tmp = folder.with_name(f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        save_arrays(tmp / WEIGHTS_FILE, model_arrays(model), {"module": f"{name} {version}"})
        data = (tmp / WEIGHTS_FILE).read_bytes()
        sha, size = hashlib.sha256(data).hexdigest(), len(data)
        config = {"base": {"name": info["name"], "version": info["version"]}, "context_args": info["context_args"],
                  "task": model.task, "input_kind": kind, "label_list": list(model.label_list),
                  "metrics": metrics or {}}
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        (tmp / "hubmodule.toml").write_text(_manifest(name, version, summary, model.task, kind, info,
                                                      (folder / WEIGHTS_FILE).as_uri(), sha, size), encoding="utf-8")
        (tmp / "module.py").write_text(_stub(name, class_name, info), encoding="utf-8")
        (tmp / "README.md").write_text(_readme(name, version, config, folder), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _manifest(name: str, version: str, summary: str, task: str, kind: str, info: dict[str, Any], source: str,
              sha: str, size: int) -> str:
    summary = summary or f"{info['name']} fine-tuned for {kind} {task.replace('_', ' ')}"
    lines = [
        "# Written by hubcore.finetune (Trainer.save_module).",
        f"package = {_toml_string('hubmod-' + name.replace('_', '-'))}",
        f"version = {_toml_string(version)}",
        "",
        f"[modules.{name}]",
        'class = "module:FinetunedModule"',
        f"category = {_toml_string(f'{kind}/{task}')}",
        f"summary = {_toml_string(summary)}",
        f"license = {_toml_string(info['license'])}",
        "pretrained = true",
        "",
        f"[modules.{name}.requires]",
    ]
    if info["paddle"]:
        lines.append(f"paddle = {_toml_string(info['paddle'])}")
    lines += [
        f"modules = {{ {info['name']} = {_toml_string('==' + info['version'])} }}",
        "",
        f"[[modules.{name}.artifacts]]",
        'name = "weights"',
        f"source = {_toml_string(source)}",
        f"sha256 = {_toml_string(sha)}",
        f"size = {size}",
        'description = "fine-tuned weights of the whole model (base and head), safetensors"',
        "",
    ]
    return "\n".join(lines)


def _stub(name: str, class_name: str, info: dict[str, Any]) -> str:
    return (f'"""{name}: {info["name"]} {info["version"]} fine-tuned with hubcore (Trainer.save_module)."""\n'
            f"from hubcore.finetune.finetuned import {class_name}\n\n\n"
            f"class FinetunedModule({class_name}):\n"
            f'    """Predicts with the fine-tuned weights in weights.safetensors; see finetune.json."""\n')


def _readme(name: str, version: str, config: dict[str, Any], folder: Path) -> str:
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in (config["metrics"] or {}).items()) or "none recorded"
    return (f"# {name} {version}\n\n"
            f"{config['base']['name']} {config['base']['version']} fine-tuned with hubcore's Trainer for "
            f"{config['input_kind']} {config['task'].replace('_', ' ')} over labels {config['label_list']}.\n\n"
            f"Evaluation at the last evaluated epoch: {metrics}.\n\n"
            f"    import hubcore as hub\n    module = hub.Module(directory={str(folder)!r})\n    module.predict(...)\n")
