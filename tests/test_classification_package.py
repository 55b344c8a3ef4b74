"""The hubmod-image-classification package: manifest, entry points, configs and docs agree; imports stay light."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import hubcore as hub
from hubcore.conformance import check_module
from hubcore.manifest import tomllib
from hubmod_image_classification import modules as module_classes
from hubmod_image_classification.configs import CONFIGS

PACKAGE = Path(__file__).resolve().parents[1] / "modules" / "hubmod-image-classification"
CATALOG_NAMES = {  # module names from the catalog's links (shared/seeds) and its model-zoo families
    "alexnet_imagenet", "vgg19_imagenet", "resnet_v2_50_imagenet", "inception_v4_imagenet", "mobilenet_v2_imagenet",
    "se_resnext50_32x4d_imagenet", "shufflenet_v2_imagenet", "efficientnetb7_imagenet", "xception71_imagenet",
    "dpn107_imagenet", "darknet53_imagenet", "densenet161_imagenet", "resnext152_64x4d_imagenet",
    "resnet50_vd_dishes", "resnet50_vd_animals", "googlenet_imagenet", "resnet50_vd_imagenet",
    "resnet200_vd_imagenet", "mobilenet_v1_imagenet", "mobilenet_v3_small_imagenet", "mobilenet_v3_large_imagenet",
    "senet154_vd_imagenet", "squeezenet1_1_imagenet", *(f"efficientnetb{i}_imagenet" for i in range(8)),
}


def _manifest() -> dict:
    return tomllib.loads((PACKAGE / "hubmod_image_classification" / "hubmodule.toml").read_text(encoding="utf-8"))


def test_manifest_configs_classes_and_entry_points_agree() -> None:
    manifest = _manifest()
    pyproject = tomllib.loads((PACKAGE / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points = pyproject["project"]["entry-points"]["hubcore.modules"]
    assert manifest["version"] == pyproject["project"]["version"] == "1.0.0"
    assert set(manifest["modules"]) == set(CONFIGS) == set(entry_points)
    assert not [d for d in pyproject["project"]["dependencies"] if d.lower().startswith("paddle")]
    for name, table in manifest["modules"].items():
        assert table["class"] == entry_points[name]
        cls = getattr(module_classes, table["class"].rpartition(":")[2])
        assert cls.config is CONFIGS[name]
        assert table["category"] == "cv/classification"
        (weights,) = table["artifacts"]
        published = bool(weights.get("source"))
        assert table["pretrained"] is published is (CONFIGS[name].converter is not None), name


def test_every_catalog_classifier_is_a_module() -> None:
    assert sorted(CATALOG_NAMES - set(CONFIGS)) == []


def test_readme_states_weights_and_reference_counts() -> None:
    readme = (PACKAGE / "README.md").read_text(encoding="utf-8")
    for name, config in CONFIGS.items():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row is not None, f"README has no table row for {name}"
        assert f"{config.reference_params_m:.2f}" in row, f"README row of {name} lacks its reference count"
        assert ("yes" in row) is (config.converter is not None), f"README row of {name} misstates its weights"


def test_importing_the_package_does_not_import_paddle() -> None:
    code = ("import sys, hubcore as hub; import hubmod_image_classification.modules; "
            "hub.list_modules(); print('paddle' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_labels_file_has_the_1000_imagenet_classes() -> None:
    labels = (PACKAGE / "hubmod_image_classification" / "data" / "imagenet1k_labels.txt").read_text().splitlines()
    assert len(labels) == 1000 and len(set(labels)) == 1000
    assert labels[0] == "tench" and labels[281] == "tabby" and labels[967] == "espresso"


def test_hub_check_passes_for_real_and_unpublished_modules() -> None:
    real = check_module("mobilenet_v2_imagenet")
    assert real.ok, real.format()
    unpublished = check_module("squeezenet1_1_imagenet")
    assert unpublished.ok, unpublished.format()
    assert "WeightsNotPublished" in unpublished.format()


def test_hub_run_prints_top5_for_an_image_file(tmp_path: Path) -> None:
    from PIL import Image
    from skimage import data

    image = tmp_path / "cat.jpg"
    Image.fromarray(data.chelsea()).save(image)
    hub_cli = Path(sys.executable).with_name("hub")
    out = subprocess.run([str(hub_cli), "run", "mobilenet_v2_imagenet", "--input_path", str(image)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    (top,) = json.loads(out.stdout)
    assert len(top) == 5 and 281 <= top[0]["class_id"] <= 285 and top[0]["label"]
    assert hub.Module(name="mobilenet_v2_imagenet").labels[top[0]["class_id"]] == top[0]["label"]
