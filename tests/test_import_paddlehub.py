"""`hub import-paddlehub` (hubcore/paddlehub_import.py) and hubcore/formats/pdparams.py: PaddleHub's weight files, read without
running them, turned into the safetensors artifacts our modules load.

The Paddle files are written by paddle itself (paddle.save, paddle.jit.save, paddle.static.save_vars
and ace2p's own export()), in every layout a PaddleHub module folder can hold. Paddle 3 writes
programs as PIR JSON unless FLAGS_enable_pir_api=0 is set before it is imported, so the older
`.pdmodel`/`__model__` layouts (those of PaddleHub's own downloads) are written by one subprocess.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import hubcore as hub
from hubcore.errors import InputError
from hubcore.formats import pdparams
from hubcore.formats.pdparams import PaddleFormatError, UnsafePickleError
from hubcore.paddle_compat import saved_program_suffix

ROOT = Path(__file__).resolve().parents[1]
from hubcore import paddlehub_import as tool  # noqa: E402

SIZE = 64

LEGACY_WRITER = textwrap.dedent("""
    import shutil, sys
    from pathlib import Path
    import numpy as np
    import paddle

    out = Path(sys.argv[1])
    rng = np.random.default_rng(7)

    def randomise(net):  # every value distinct, BatchNorm statistics too, so a misplaced tensor shows
        net.set_state_dict({k: (rng.random(v.shape) + 0.5 if k.endswith("_variance") else rng.standard_normal(v.shape))
                            .astype("float32") for k, v in net.state_dict().items()})
        net.eval()
        return net

    class Tiny(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = paddle.nn.Conv2D(3, 4, 3, padding=1, bias_attr=False)
            self.bn = paddle.nn.BatchNorm2D(4)
            self.head = paddle.nn.Conv2D(4, 2, 1)

        def forward(self, x):
            return self.head(paddle.nn.functional.relu(self.bn(self.conv(x))))

    tiny = randomise(Tiny())
    paddle.jit.save(tiny, str(out / "tiny" / "model"), input_spec=[paddle.static.InputSpec([None, 3, 8, 8], "float32")])
    np.savez(out / "tiny_ref.npz", **{k: v.numpy() for k, v in tiny.state_dict().items()})

    import warnings
    import hubcore as hub
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = hub.Module(name="ace2p", pretrained=False, input_size=%(size)d)
    ace2p = randomise(module.network)
    x = rng.standard_normal((1, 3, %(size)d, %(size)d)).astype("float32")
    with paddle.no_grad():
        np.savez(out / "ace2p_ref.npz", x=x, y=ace2p(paddle.to_tensor(x)).numpy())
    folder = module.export(out / "paddlehub" / "ace2p" / "ace2p_human_parsing")  # the module's own export
    (folder / "inference.pdiparams.info").unlink()  # PaddleHub's folders have no structured names

    paddle.enable_static()
    exe = paddle.static.Executor(paddle.CPUPlace())
    prog, _, _ = paddle.static.load_inference_model(str(out / "tiny" / "model"), exe)
    persistable = [v for v in prog.list_vars() if v.persistable and v.name not in ("feed", "fetch")]
    paddle.static.save_vars(exe, str(out / "pervar"), main_program=prog, vars=persistable)
    paddle.static.save_vars(exe, str(out / "combined"), main_program=prog, vars=persistable, filename="__params__")
    for layout in ("pervar", "combined"):
        shutil.copy(out / "tiny" / "model.pdmodel", out / layout / "__model__")
    """) % {"size": SIZE}

TINY_NAMES = {"conv2d_0.w_0": "conv.weight", "batch_norm2d_0.w_0": "bn.weight", "batch_norm2d_0.b_0": "bn.bias",
              "batch_norm2d_0.w_1": "bn._mean", "batch_norm2d_0.w_2": "bn._variance", "conv2d_1.w_0": "head.weight",
              "conv2d_1.b_0": "head.bias"}


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("legacy")
    script = out / "write_legacy.py"  # a file, not -c: paddle's tracer reads the forward()'s source
    script.write_text(LEGACY_WRITER)
    env = dict(os.environ, FLAGS_enable_pir_api="0", GLOG_minloglevel="2")
    done = subprocess.run([sys.executable, str(script), str(out)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_pdparams_from_paddle_save_read_back_exactly_and_in_order(tmp_path):
    import paddle

    net = paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3), paddle.nn.BatchNorm2D(4), paddle.nn.Linear(4, 2))
    state = net.state_dict()
    for protocol in (2, 4):
        path = tmp_path / f"model_p{protocol}.pdparams"
        paddle.save(state, str(path), protocol=protocol)
        arrays = pdparams.read_pdparams(path)
        assert list(arrays) == list(state)
        for k, v in state.items():
            assert arrays[k].dtype == np.float32 and np.array_equal(arrays[k], v.numpy())


def test_hostile_pickles_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "evil.pdparams"
    bad.write_bytes(pickle.dumps({"conv.weight": Exploit()}))
    with pytest.raises(UnsafePickleError, match=r"posix\.system|os\.system"):
        pdparams.read_pdparams(bad)
    assert not marker.exists()

    objects = tmp_path / "objects.pdparams"
    objects.write_bytes(pickle.dumps({"w": np.array([1, "x"], dtype=object)}))
    with pytest.raises(UnsafePickleError, match="object arrays|not a plain numeric"):
        pdparams.read_pdparams(objects)

    structured = tmp_path / "record.pdparams"
    structured.write_bytes(pickle.dumps({"w": np.zeros(2, dtype=[("a", "f4"), ("b", "O")])}))
    with pytest.raises(UnsafePickleError):
        pdparams.read_pdparams(structured)

    scalars = tmp_path / "scalars.pdparams"  # numpy scalars pass as values; only arrays are returned
    scalars.write_bytes(pickle.dumps({"w": np.ones(3, dtype=np.float32), "step": np.int64(7)}))
    assert list(pdparams.read_pdparams(scalars)) == ["w"]

    for junk in (b"", b"\x80\x04not a pickle", pickle.dumps([1, 2])):
        (tmp_path / "junk.pdparams").write_bytes(junk)
        with pytest.raises(PaddleFormatError):
            pdparams.read_pdparams(tmp_path / "junk.pdparams")


def test_every_inference_model_layout_reads_back_with_names_and_values(legacy, tmp_path):
    import paddle

    ref = np.load(legacy / "tiny_ref.npz")
    layouts = {
        ".pdmodel + .pdiparams": (legacy / "tiny" / "model.pdmodel", legacy / "tiny" / "model.pdiparams"),
        "__model__ + __params__": (legacy / "combined" / "__model__", legacy / "combined" / "__params__"),
        "__model__ + one file per parameter": (legacy / "pervar" / "__model__", legacy / "pervar"),
    }
    for layout, (program, params) in layouts.items():
        arrays = pdparams.read_inference_model(program, params)
        assert list(arrays) == list(TINY_NAMES), layout  # the order the ops use them: conv, bn, head
        for name, array in arrays.items():
            assert np.array_equal(array, ref[TINY_NAMES[name]]), (layout, name)
    assert pdparams.read_pdiparams_info(legacy / "tiny" / "model.pdiparams.info") == TINY_NAMES

    # paddle 3's own format, a PIR JSON program: one written by paddle 3.3.1 (tests/data), readable
    # whatever paddle runs here, and one written now where this paddle writes PIR
    fixture = ROOT / "tests" / "data" / "pir_conv_bn"
    arrays = pdparams.read_inference_model(fixture / "model.json", fixture / "model.pdiparams")
    state = np.load(fixture / "state.npz")
    assert [a.tolist() for a in arrays.values()] == [state[k].tolist() for k in state.files]  # state-dict order
    if saved_program_suffix() == ".json":
        net = paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3), paddle.nn.BatchNorm2D(4))
        net.eval()
        paddle.jit.save(net, str(tmp_path / "pir" / "model"), input_spec=[paddle.static.InputSpec([None, 3, 8, 8])])
        arrays = pdparams.read_inference_model(tmp_path / "pir" / "model.json", tmp_path / "pir" / "model.pdiparams")
        got = [a.tolist() for a in arrays.values()]
        assert got == [v.numpy().tolist() for v in net.state_dict().values()]  # state-dict order, BN included

    # damaged or mismatched files are refused with the reason
    data = (legacy / "tiny" / "model.pdiparams").read_bytes()
    (tmp_path / "cut.pdiparams").write_bytes(data[:-10])
    with pytest.raises(PaddleFormatError, match="truncated"):
        pdparams.read_inference_model(legacy / "tiny" / "model.pdmodel", tmp_path / "cut.pdiparams")
    (tmp_path / "more.pdiparams").write_bytes(data + data[:200])
    with pytest.raises(PaddleFormatError):
        pdparams.read_inference_model(legacy / "tiny" / "model.pdmodel", tmp_path / "more.pdiparams")
    (tmp_path / "bad.pdiparams").write_bytes(b"\x07" + data[1:])
    with pytest.raises(PaddleFormatError, match="version"):
        pdparams.read_tensor_stream(tmp_path / "bad.pdiparams")


def test_a_paddlehub_ace2p_folder_becomes_weights_the_module_loads(legacy, tmp_path, tmp_hub_home, capsys):
    import paddle

    from hubcore.artifacts import provide_artifact
    from hubcore.discovery import find_entries

    out = tmp_path / "ace2p.safetensors"
    assert tool.main([str(legacy / "paddlehub" / "ace2p"), "--module", "ace2p", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "matched by order" in printed and "hub download ace2p --artifact ace2p_weights --from" in printed
    assert "training-only" in printed  # the inference program had no edge / first-parsing heads

    entry = find_entries("ace2p")[0]
    provide_artifact(entry.name, entry.version, entry.manifest.artifact("ace2p_weights"), out)
    module = hub.Module(name="ace2p", input_size=SIZE)
    ref = np.load(legacy / "ace2p_ref.npz")
    with paddle.no_grad():
        y = module.network(paddle.to_tensor(ref["x"])).numpy()
    # Random weights make outputs of ~1e29 where summation order (which kernels earlier tests in
    # this process warmed up, on paddle 2.6) moves values near zero by ~1e-6 of that scale; a
    # misplaced tensor moves everything by the whole scale.
    np.testing.assert_allclose(y, ref["y"], rtol=1e-4, atol=1e-5 * float(np.abs(ref["y"]).max()))


def test_gan_state_dicts_and_programs_import_by_name_or_by_order(tmp_path, tmp_hub_home):
    import paddle

    from hubmod_gan.stargan_net import StarGANGenerator

    paddle.seed(3)
    net = StarGANGenerator()
    net.eval()
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    # a state dict saved from this very network: names match
    paddle.save(net.state_dict(), str(tmp_path / "named" / "stargan.pdparams"))
    named = tool.import_paddlehub(tmp_path / "named", "stargan_celeba", tmp_path / "named.safetensors")
    # another network's names (a PaddleHub 2.x Layer, say), same layers in the same order: by order
    renamed = {f"generator.layer_{i}": v for i, v in enumerate(net.state_dict().values())}
    paddle.save(renamed, str(tmp_path / "renamed" / "model.pdparams"))
    by_order = tool.import_paddlehub(tmp_path / "renamed", "stargan_celeba", tmp_path / "order.safetensors")
    # an inference program: paddle 3 writes PIR JSON, which has no structured names (matched by
    # order); paddle 2.6 writes .pdmodel with the .pdiparams.info that names them
    paddle.jit.save(net, str(tmp_path / "program" / "stargan"),
                    input_spec=[paddle.static.InputSpec([None, 3, 32, 32]), paddle.static.InputSpec([None, 5])])
    program = tool.import_paddlehub(tmp_path / "program", "stargan_celeba", tmp_path / "program.safetensors")
    program_match = "order" if saved_program_suffix() == ".json" else "names"
    assert (named.matched_by, by_order.matched_by, program.matched_by) == ("names", "order", program_match)

    from safetensors.numpy import load_file

    for result in (named, by_order, program):
        tensors = load_file(str(result.out))
        assert set(tensors) == set(state) and all(np.array_equal(tensors[k], state[k]) for k in state)

    # another module's weights do not fit: refused, nothing written
    with pytest.raises(InputError, match="has 52 parameters but the module's network has"):
        tool.import_paddlehub(tmp_path / "named", "attgan_celeba", tmp_path / "wrong.safetensors")
    assert not (tmp_path / "wrong.safetensors").exists()
    shuffled = dict(reversed(list(renamed.items())))
    paddle.save(shuffled, str(tmp_path / "shuffled" / "model.pdparams"))
    with pytest.raises(InputError, match="does not line up"):
        tool.import_paddlehub(tmp_path / "shuffled", "stargan_celeba", tmp_path / "shuffled.safetensors")

    # the imported file is what the module loads
    from hubcore.artifacts import provide_artifact
    from hubcore.discovery import find_entries

    entry = find_entries("stargan_celeba")[0]
    provide_artifact(entry.name, entry.version, entry.manifest.artifacts[0], program.out)
    from hubcore.weights import RandomWeightsWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = hub.Module(name="stargan_celeba", image_size=32)
    assert module.random_weights is False and not [w for w in caught if w.category is RandomWeightsWarning]
    x = paddle.randn([1, 3, 32, 32])
    c = paddle.to_tensor([[0, 1, 0, 1, 1]], dtype="float32")
    with paddle.no_grad():
        np.testing.assert_allclose(module.network(x, c).numpy(), net(x, c).numpy(), rtol=1e-5, atol=1e-5)


def test_the_tool_says_what_it_needs(tmp_path, capsys):
    assert tool.main([str(tmp_path / "nowhere"), "--module", "ace2p", "--out", str(tmp_path / "o")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no Paddle weights under"):
        tool.find_source(tmp_path / "empty")
    for sub in ("a", "b"):
        (tmp_path / "two" / sub).mkdir(parents=True)
        (tmp_path / "two" / sub / "m.pdparams").write_bytes(b"")
    with pytest.raises(InputError, match="several weight sets"):
        tool.find_source(tmp_path / "two")
    with pytest.raises(InputError, match="no installed module named 'nosuch'"):
        tool.module_network("nosuch")
    with pytest.raises(InputError, match="does not support importing"):
        tool.module_network("example")
