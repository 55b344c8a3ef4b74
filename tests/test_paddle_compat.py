"""hubcore/paddle_compat.py: the hub on paddle 2.6.x and 3.x alike, one test per difference found.

The suite runs on both (CI: .ci/run, one pass per release); where releases differ the test says
what each one does, so a pass on either is a statement about that release.
The zlib clash of paddle 2.6 crashes the process, so those tests run their scripts in subprocesses:
the crash is reproduced where paddle is imported first (on 2.x) and gone under hubcore's entry points.
"""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import paddle
import pytest
from packaging.specifiers import SpecifierSet

import hubcore as hub
from hubcore import paddle_compat
from hubcore.discovery import iter_entries
from hubcore.inference import export_layer, model_files
from hubcore.paddle_compat import saved_model_files, saved_program_suffix, set_onednn, set_training
from hubcore.weights import make_network, save_weights

ROOT = Path(__file__).resolve().parents[1]
PADDLE = paddle.__version__
PADDLE_2 = paddle_compat.paddle_major() < 3


def small_net() -> paddle.nn.Layer:
    return paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3), paddle.nn.BatchNorm2D(4), paddle.nn.ReLU(),
                                paddle.nn.Dropout(0.5), paddle.nn.Flatten(), paddle.nn.Linear(4 * 6 * 6, 3))


# -- 1. manifests: the paddle each module needs, and the releases it is tested on ------------------

def test_every_module_loads_on_this_paddle_and_lists_it_as_tested():
    entries = [e for e in iter_entries() if e.ok and e.manifest.requires.paddle]
    assert len(entries) >= 40, "the module packages of modules/ are not installed (tools/dev_setup.sh)"
    for entry in entries:
        req = entry.manifest.requires
        assert SpecifierSet(req.paddle).contains(PADDLE, prereleases=True), (entry.name, req.paddle)
        assert PADDLE in req.paddle_tested, f"{entry.name}: tested on {req.paddle_tested}, CI runs {PADDLE}"
        assert all(SpecifierSet(req.paddle).contains(v) for v in req.paddle_tested), entry.name
    # the classifiers said >=3.0 though they run on 2.6: that pin is gone
    hub.Module(name="squeezenet1_1_imagenet")


def test_hub_show_says_which_paddle_releases_a_module_is_tested_on():
    done = subprocess.run([sys.executable, "-m", "hubcore.cli.main", "show", "mobilenet_v2_imagenet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "tested on:  paddle 2.6.2, 3.3.1" in lines
    assert any(line.startswith("paddle:     >=2.6.2 (paddlepaddle") for line in lines), lines


def test_a_manifest_with_a_malformed_tested_list_is_refused(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "hubmodule.toml").write_text('package = "dev-m"\nversion = "0.1.0"\n[modules.devm]\n'
                                           'class = "module:Mod"\n[modules.devm.requires]\n'
                                           'paddle = ">=2.6.2"\npaddle_tested = ["three"]\n')
    (folder / "module.py").write_text("import hubcore\nclass Mod(hubcore.Module):\n    pass\n")
    with pytest.raises(hub.errors.ManifestError, match=r"paddle_tested: 'three' is not a version"):
        hub.Module(directory=folder)


# -- 2. train/eval mode ------------------------------------------------------------------------------

def test_set_training_switches_both_ways_and_the_trainer_restores_the_mode():
    net = small_net()
    assert set_training(net, False) is net and not net.training and not net[3].training
    set_training(net, True)
    assert net.training and net[3].training

    from hubcore.finetune import Classifier, Dataset

    from tests.test_finetune_trainer import LABELS, make_context, make_data

    model = Classifier(make_context(0), LABELS)
    trainer = hub.Trainer(model, paddle.optimizer.SGD(learning_rate=0.1, parameters=model.parameters()))
    data = Dataset(make_data(8, 1), LABELS, input_kind="image", name="dev")
    for mode in (True, False):
        set_training(model, mode)
        assert trainer.evaluate(data, batch_size=4)["loss"] > 0
        assert model.training is mode  # 2.6's Layer.train() takes no mode: evaluate() used to fail here


# -- 3. lazy construction ----------------------------------------------------------------------------

def test_a_network_made_from_a_weights_file_holds_exactly_the_file(tmp_path):
    paddle.seed(11)
    source = small_net()
    source.eval()
    path = save_weights(source, tmp_path / "w.safetensors")
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype("float32")
    paddle.seed(12)  # another seed: a random initialisation left in place would show
    loaded = make_network(small_net, path, what="test weights")
    loaded.eval()
    for key, value in source.state_dict().items():
        assert np.array_equal(loaded.state_dict()[key].numpy(), value.numpy()), key
    with paddle.no_grad():
        np.testing.assert_array_equal(loaded(paddle.to_tensor(x)).numpy(), source(paddle.to_tensor(x)).numpy())


# -- 4. squeezenet without its classifier convolution -------------------------------------------------

def test_squeezenet_builds_with_no_zero_sized_tensor():
    from hubmod_image_classification.archs.vision import squeezenet1_1

    net = squeezenet1_1(7)
    assert all(int(np.prod(v.shape)) > 0 for v in net.state_dict().values())
    assert not [k for k in net.state_dict() if "_conv9" in k]
    net.eval()
    with paddle.no_grad():
        assert list(net(paddle.rand([2, 3, 64, 64])).shape) == [2, 7]


# -- 5. program formats ------------------------------------------------------------------------------

def test_exported_files_are_what_this_paddle_writes(tmp_path):
    net = small_net()
    folder = export_layer(net, [([None, 3, 8, 8], "float32", "image")], tmp_path / "exported")
    expected = {p.name for p in saved_model_files(folder / "inference")}
    assert {p.name for p in folder.iterdir()} == expected
    assert saved_program_suffix() == (".pdmodel" if PADDLE_2 else ".json")  # 3.x: PIR by default
    program, params = model_files(folder)
    assert (program.suffix, params.suffix) == (saved_program_suffix(), ".pdiparams")


def test_onednn_switches_exist_under_one_name_or_the_other():
    import paddle.inference as pi

    config = pi.Config()
    set_onednn(config, True, cache_shapes=4)
    assert config.mkldnn_enabled()
    set_onednn(config, False)
    assert not config.mkldnn_enabled()
    with pytest.raises(AttributeError, match="this paddle release is not supported"):
        set_onednn(object(), True)


# -- 6. the zlib clash -------------------------------------------------------------------------------

PADDLE_FIRST = "import paddle\nimport hubcore as hub\n"  # what users are told not to do
HUBCORE_FIRST = "import hubcore as hub\nimport paddle\n"  # our entry points: `import hubcore` first

ZLIB_ROUNDTRIP = "import zlib\nassert zlib.decompress(zlib.compress(b'hub' * 1000)) == b'hub' * 1000\nprint('ok')\n"
PNG_DECODE = textwrap.dedent("""
    import io
    import numpy as np
    from PIL import Image
    buf = io.BytesIO()
    image = (np.arange(32 * 32 * 3) % 251).astype("uint8").reshape(32, 32, 3)
    Image.fromarray(image).save(buf, "PNG")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")), image)
    print('ok')
    """)
NUMPY_RANDOM = "import numpy.random\nprint(numpy.random.default_rng(0).integers(10), 'ok')\n"


def run_script(tmp_path: Path, name: str, code: str, **env: str) -> subprocess.CompletedProcess:
    script = tmp_path / f"{name}.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "GLOG_minloglevel": "2", **env}, cwd=tmp_path)


def crashed(done: subprocess.CompletedProcess) -> bool:
    # paddle's signal handler prints its own report of a segfault before the process dies of it; the
    # same clash sometimes surfaces as zlib reporting a corrupt stream state instead of a segfault
    return done.returncode != 0 and ("SIGSEGV" in done.stderr or "codec configuration error" in done.stderr
                                     or "zlib.error" in done.stderr or done.returncode < 0)


@pytest.mark.parametrize("case", [ZLIB_ROUNDTRIP, PNG_DECODE, NUMPY_RANDOM], ids=["zlib", "png", "numpy.random"])
def test_zlib_users_crash_after_paddle_2_but_not_after_hubcore(tmp_path, case):
    bare = run_script(tmp_path, "paddle_first", PADDLE_FIRST + case)
    ours = run_script(tmp_path, "hubcore_first", HUBCORE_FIRST + case)
    assert ours.returncode == 0 and ours.stdout.strip().endswith("ok"), ours.stderr[-2000:]
    # the clash is paddle 2.x's: there, importing paddle first still crashes (nothing can undo a
    # library already bound to the wrong zlib); paddle 3 has no clash
    assert crashed(bare) is PADDLE_2, (bare.returncode, bare.stderr[-2000:])


def dev_module_with_archive(tmp_path: Path) -> Path:
    """A development-folder module that imports paddle and reads a member of a .tar.gz artifact."""
    payload = bytes(range(256)) * 400
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("pkg/data.bin")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    archive = tmp_path / "data.tar.gz"
    archive.write_bytes(buf.getvalue())
    folder = tmp_path / "zlibmod"
    folder.mkdir()
    (folder / "hubmodule.toml").write_text(textwrap.dedent(f"""
        package = "dev-zlibmod"
        version = "0.1.0"
        [modules.zlibmod]
        class = "module:Mod"
        [modules.zlibmod.requires]
        paddle = ">=2.6.2"
        [[modules.zlibmod.artifacts]]
        name = "data"
        source = "{archive.as_uri()}"
        sha256 = "{hashlib.sha256(archive.read_bytes()).hexdigest()}"
        size = {archive.stat().st_size}
        member = "pkg/data.bin"
        unpacked_size = {len(payload)}
        """))
    (folder / "module.py").write_text(textwrap.dedent(f"""
        import paddle
        import hubcore
        class Mod(hubcore.Module):
            def __init__(self):
                assert self.artifact("data").read_bytes() == bytes(range(256)) * 400
        """))
    return folder


def test_a_module_extracting_its_archive_on_an_empty_cache(tmp_path):
    folder = dev_module_with_archive(tmp_path)
    load = f"hub.Module(directory={str(folder)!r})\nprint('ok')\n"
    ours = run_script(tmp_path, "hubcore_first", "import hubcore as hub\n" + load, HUB_HOME=str(tmp_path / "home1"))
    assert ours.returncode == 0 and ours.stdout.strip().endswith("ok"), ours.stderr[-2000:]
    assert "ZlibClashWarning" not in ours.stderr
    bare = run_script(tmp_path, "paddle_first", PADDLE_FIRST + load, HUB_HOME=str(tmp_path / "home2"))
    assert crashed(bare) is PADDLE_2, (bare.returncode, bare.stderr[-2000:])
    # where it crashes, the user was told why first
    assert ("ZlibClashWarning" in bare.stderr and "Import hubcore" in bare.stderr) is PADDLE_2, bare.stderr[-2000:]


def test_the_trainer_imports_paddle_after_the_guard():
    code = ("import sys\nfrom hubcore.finetune import Trainer\n"
            "assert 'paddle' in sys.modules and 'PIL._imaging' in sys.modules\n"
            "from hubcore import paddle_compat\nassert paddle_compat._preloaded\nprint('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_import_hubcore_itself_loads_neither_paddle_nor_pillow():
    code = "import sys, hubcore\nprint(sorted(m for m in ('paddle', 'PIL', 'zlib') if m in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", (done.stdout, done.stderr)
