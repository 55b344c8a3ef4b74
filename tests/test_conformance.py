import textwrap
from pathlib import Path

import pytest

from hubcore import discovery
from hubcore.cli.main import main
from hubcore.conformance import assert_conformant, check_module, path_like
from tests.support.fakedist import install_fake_module

ROOT = Path(__file__).resolve().parents[1]
UNPUBLISHED = '\n[[modules.{m}.artifacts]]\nname = "weights"\n'


def module_code(body: str, sample: str = 'return {"texts": ["a b", "c"]}', signature: str = "texts: list[str]",
                batch: str = 'batch="texts", ') -> str:
    return textwrap.dedent(f'''
        import hubcore
        from hubcore.errors import WeightsNotPublished

        class Mod(hubcore.Module):
            @hubcore.serving({batch}default=True)
            def run(self, {signature}) -> list:
                """Do it.

                Args:
                    texts: inputs.
                    image: an image.
                """
                {body}

            @classmethod
            def sample_input(cls):
                {sample}
        ''')


@pytest.fixture
def site(site, tmp_hub_home):
    """The shared fake site, with a temporary HUB_HOME for the artifacts these modules fetch."""
    return site


def statuses(report):
    return {c.name: c.status for c in report.checks}


def test_the_example_module_folder_is_conformant():
    report = assert_conformant(directory=ROOT / "modules" / "hubmod-example")
    assert set(statuses(report).values()) == {"pass"}, report.format()
    assert report.version == "1.0.0" and report.format().endswith("\nconformant")


def test_an_installed_module_passes_every_check(site):
    install_fake_module(site, module="fkok", version="1.0.0", code=module_code("return [t.split() for t in texts]"))
    report = check_module("fkok")
    assert report.ok and statuses(report) == {
        "metadata": "pass", "entry point": "pass", "import": "pass", "signatures": "pass", "server paths": "pass",
        "artifacts": "pass", "loads": "pass", "sample": "pass", "predict": "pass", "serving": "pass"}, report.format()


def test_unpublished_weights_are_the_expected_honest_outcome(site):
    install_fake_module(site, module="fkunpub", version="1.0.0", manifest_extra=UNPUBLISHED.format(m="fkunpub"),
                        code=module_code('self.artifact("weights"); return texts'))
    report = check_module("fkunpub")
    assert report.ok, report.format()
    assert statuses(report)["predict"] == "expected" and statuses(report)["artifacts"] == "expected"
    assert report.format().endswith("conformant (2 expected outcome(s): no published weights)")


@pytest.mark.parametrize("extra, body, check, message", [
    (UNPUBLISHED, 'raise WeightsNotPublished("no weights")', "predict", "must name the artifact"),
    (UNPUBLISHED + "pretrained = true\n", "return texts", "artifacts", "pretrained = true but ['weights']"),
    ("", "return [object() for t in texts]", "predict", "not JSON-able"),
    ("", "return texts[:1]", "predict", "has 2 elements but the result has 1"),
    ("", 'raise RuntimeError("boom")', "predict", "RuntimeError: boom"),
])
def test_broken_promises_fail_with_the_reason(site, extra, body, check, message):
    manifest_extra = extra.format(m="fkbad").replace("pretrained = true\n", "")
    install_fake_module(site, module="fkbad", version="1.0.0", manifest_extra=manifest_extra, code=module_code(body))
    if "pretrained = true" in extra:  # pretrained belongs in the module table, before the artifacts
        toml = site / "hubmod_fkbad" / "hubmodule.toml"
        toml.write_text(toml.read_text().replace('license = "MIT"', 'license = "MIT"\npretrained = true'))
        discovery.clear_caches()
    report = check_module("fkbad")
    found = next(c for c in report.checks if c.name == check)
    assert not report.ok and found.status == "fail" and message in found.detail, report.format()
    with pytest.raises(AssertionError, match="NOT conformant"):
        assert_conformant("fkbad")


def test_a_missing_sample_input_fails_and_skips_predict(site):
    code = module_code("return texts").split("    @classmethod")[0]
    install_fake_module(site, module="fknosample", version="1.0.0", code=code)
    report = check_module("fknosample")
    assert statuses(report)["sample"] == "fail" and statuses(report)["predict"] == "skip"
    assert "add a classmethod sample_input()" in report.format()


def test_images_travel_base64_and_the_module_must_accept_the_decoded_bytes(site):
    takes_bytes = module_code("return [len(image)]", sample=f'return {{"image": {str(ROOT / "pyproject.toml")!r}}}',
                              signature="image: hubcore.Image", batch="")
    install_fake_module(site, module="fkimg", version="1.0.0", code=takes_bytes.replace(
        "return [len(image)]", "return [len(image if isinstance(image, bytes) else open(image, 'rb').read())]"))
    report = check_module("fkimg")
    assert statuses(report)["serving"] == "pass" and "ran on the decoded request" in report.format(), report.format()
    paths_only = takes_bytes.replace("return [len(image)]", "return [open(image, 'rb').read().decode()[:0]]")
    install_fake_module(site, module="fkimgpath", version="1.0.0", code=paths_only)
    report = check_module("fkimgpath")
    assert statuses(report)["predict"] == "pass" and statuses(report)["serving"] == "fail", report.format()
    assert "fails on it (images as bytes)" in report.format()


def test_hub_check_exit_code_follows_the_report(site, capsys):
    install_fake_module(site, module="fkcli", version="1.0.0", code=module_code("return texts"))
    assert main(["check", "fkcli"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "conformant"
    install_fake_module(site, module="fkcli2", version="1.0.0", code=module_code("return texts[:1]"))
    assert main(["check", "fkcli2"]) == 1
    assert main(["check"]) == 1 and "give an installed module name" in capsys.readouterr().err


def test_a_pretrained_pipeline_may_take_its_weights_from_the_modules_it_builds_on(site):
    install_fake_module(site, module="fkpart", version="1.0.0", code=module_code("return texts"))
    install_fake_module(site, module="fkpipe", version="1.0.0", code=module_code("return texts"),
                        requires='pretrained = true\n[modules.fkpipe.requires]\nmodules = { fkpart = ">=1" }\n')
    report = check_module("fkpipe")
    assert report.ok and "it builds on modules fkpart" in report.format(), report.format()


def test_weights_missing_at_construction_is_expected_when_the_message_is_honest(site):
    code = module_code("return texts").replace("class Mod(hubcore.Module):", textwrap.dedent('''
        class Mod(hubcore.Module):
            def __init__(self):
                self.artifact("weights")
        ''').strip())
    install_fake_module(site, module="fkinit", version="1.0.0", code=code, manifest_extra=UNPUBLISHED.format(m="fkinit"))
    report = check_module("fkinit")
    assert report.ok and statuses(report)["loads"] == "expected" and statuses(report)["predict"] == "skip", \
        report.format()


@pytest.mark.parametrize("argument, annotation", [
    ("output_dir", "str"), ("save_path", "str | None"), ("paths", "list[str] | None"), ("filename", "str"),
    ("model_file", "str"), ("log_dirs", ""),
])
def test_an_input_named_like_a_path_that_takes_a_plain_str_fails(site, argument, annotation):
    typed = f": {annotation}" if annotation else ""
    install_fake_module(site, module="fkpathy", version="1.0.0",
                        code=module_code("return texts", signature=f"texts: list[str], {argument}{typed} = None"))
    report = check_module("fkpathy")
    found = next(c for c in report.checks if c.name == "server paths")
    assert not report.ok and found.status == "fail" and f"['run.{argument}']" in found.detail, report.format()
    assert "hubcore.OutputDir" in found.detail and "hubcore.FilePath" in found.detail
    assert statuses(report)["predict"] == "pass"  # the other checks still run


@pytest.mark.parametrize("annotation", ["hubcore.OutputDir", "hubcore.FilePath | None", "list[hubcore.FilePath] | None"])
def test_an_input_named_like_a_path_passes_when_typed_as_a_server_side_path(site, annotation):
    install_fake_module(site, module="fktyped", version="1.0.0",
                        code=module_code("return texts", signature=f"texts: list[str], output_dir: {annotation} = None"))
    report = check_module("fktyped")
    assert report.ok and statuses(report)["server paths"] == "pass", report.format()


def test_a_module_that_cannot_take_no_output_folder_fails_serving(site):
    """Over HTTP an OutputDir is None; a module that needs a folder would fail every request."""
    install_fake_module(site, module="fknofolder", version="1.0.0", code=module_code(
        "import os; return [os.path.join(output_dir, t) for t in texts]",
        signature="texts: list[str], output_dir: hubcore.OutputDir = 'out'"))
    report = check_module("fknofolder")
    assert statuses(report)["predict"] == "pass" and statuses(report)["serving"] == "fail", report.format()
    assert "['output_dir'] as None" in report.format() and "TypeError" in report.format()


@pytest.mark.parametrize("name, expected", [
    ("output_dir", True), ("save_path", True), ("path", True), ("paths", True), ("file", True),
    ("filename", True), ("file_list", True), ("dir", True), ("dirname", True), ("data_dir", True),
    ("image_folder", True), ("user_file", True),
    ("direction", False), ("profile", False), ("filter_size", False), ("text", False), ("top_k", False),
])
def test_path_like_names(name, expected):
    assert path_like(name) is expected
