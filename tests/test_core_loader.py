import sys

import pytest

import hubcore as hub
from hubcore import discovery
from hubcore.errors import InputError, ModuleLoadError, ModuleNotFound, RequirementError
from tests.support.fakedist import install_fake_module


def test_loads_by_name_with_init_args_and_metadata(site):
    install_fake_module(site, module="fka", version="1.2.0")
    m = hub.Module(name="fka", greeting="hi")
    assert m.greet(["x"]) == ["hi x from fka 1.2.0"]
    assert (m.name, m.version, m.category, m.license) == ("fka", "1.2.0", "text/test", "MIT")
    assert m.predict(["y"]) == ["hi y from fka 1.2.0"]
    assert m.default_signature.batch_input == "texts"


def test_version_specifier_is_checked(site):
    install_fake_module(site, module="fkb", version="1.0.0")
    assert hub.Module(name="fkb", version=">=1,<2").version == "1.0.0"
    assert hub.Module(name="fkb", version="1.0.0").version == "1.0.0"
    with pytest.raises(ModuleNotFound, match=r"installed at 1.0.0.*does not match '>=2'.*hub install 'fkb>=2'"):
        hub.Module(name="fkb", version=">=2")
    with pytest.raises(InputError, match="not a PEP 440 specifier"):
        hub.Module(name="fkb", version=">>>1")


def test_unknown_name_suggests_close_matches_and_the_install_command(site):
    install_fake_module(site, module="fkc", version="1.0.0")
    with pytest.raises(ModuleNotFound, match=r"Did you mean fkc\?.*hub install fkd"):
        hub.Module(name="fkd")


def test_listing_does_not_import_plugin_code(site):
    install_fake_module(site, module="fke", version="1.0.0", code="raise RuntimeError('imported!')")
    names = {e.name: e for e in discovery.iter_entries()}
    assert names["fke"].ok and names["fke"].manifest.summary == "fake module fke"
    assert "hubmod_fke.module" not in sys.modules
    with pytest.raises(ModuleLoadError, match=r"error importing module 'fke'.*RuntimeError: imported!"):
        hub.Module(name="fke")


def test_broken_manifest_is_reported_not_raised_by_listing(site):
    folder = install_fake_module(site, module="fkf", version="1.0.0")
    (folder / "hubmodule.toml").write_text("package = 'hubmod-fkf'\n[modules.other]\nclass='x:Y'\n")
    entry = next(e for e in discovery.iter_entries() if e.name == "fkf")
    assert not entry.ok and "no [modules.fkf]" in entry.error
    with pytest.raises(ModuleLoadError, match="installed but unusable"):
        hub.Module(name="fkf")


def test_module_dependencies_must_be_installed_at_matching_versions(site):
    install_fake_module(site, module="fkg", version="1.0.0")
    install_fake_module(site, module="fkh", version="2.0.0",
                        requires='[modules.fkh.requires]\nmodules = { fkg = ">=1.5" }\n')
    with pytest.raises(RequirementError, match=r"needs fkg>=1.5 but fkg 1.0.0 is installed"):
        hub.Module(name="fkh")


def test_paddle_requirement_is_checked_against_either_distribution(site):
    install_fake_module(site, module="fki", version="1.0.0",
                        requires='[modules.fki.requires]\npaddle = ">=99"\n')
    with pytest.raises(RequirementError, match=r"needs paddle >=99 but paddlepaddle(-gpu)? [\d.]+ is installed"):
        hub.Module(name="fki")


def test_directory_loading_uses_a_private_package_name(tmp_path):
    for sub in ("a", "b"):
        folder = tmp_path / sub
        folder.mkdir()
        (folder / "hubmodule.toml").write_text(
            f'package = "dev-{sub}"\nversion = "0.1.{len(sub)}"\n[modules.dev{sub}]\nclass = "module:Mod"\n')
        (folder / "module.py").write_text(
            "import hubcore\nclass Mod(hubcore.Module):\n"
            f"    @hubcore.serving\n    def run(self, x: int) -> int:\n        return x + {ord(sub)}\n")
    a = hub.Module(directory=tmp_path / "a")
    b = hub.Module(directory=tmp_path / "b")
    assert (a.run(1), b.run(1)) == (1 + ord("a"), 1 + ord("b"))
    assert a.version == "0.1.1" and "module" not in sys.modules


def test_calling_hub_module_without_name_or_directory_names_the_fix():
    with pytest.raises(InputError, match="name='MODULE'"):
        hub.Module()
