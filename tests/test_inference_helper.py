"""hubcore.inference: export a Layer to an inference program and run it with paddle.inference."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hubcore import inference
from hubcore.errors import InputError, NotSupported


def _tiny_layer():
    import paddle
    from paddle import nn

    paddle.seed(0)
    return nn.Sequential(nn.Conv2D(3, 8, 3, padding=1), nn.BatchNorm2D(8), nn.ReLU(), nn.AdaptiveAvgPool2D(1),
                         nn.Flatten(), nn.Linear(8, 5))


def test_import_does_not_import_paddle() -> None:
    code = "import sys, hubcore.inference; print('paddle' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_export_then_predict_matches_eager(tmp_path: Path) -> None:
    import paddle

    layer = _tiny_layer()
    layer.train()  # export must trace eval-mode behaviour and leave the layer as it was
    folder = inference.export_layer(layer, [([None, 3, 16, 16], "float32", "image")], tmp_path / "model")
    assert layer.training
    program, params = inference.model_files(folder)
    # paddle 3 with PIR writes the program as JSON; older paddle as .pdmodel
    assert program.suffix in (".json", ".pdmodel") and params.suffix == ".pdiparams"
    predictor = inference.create_predictor(folder, device="cpu", threads=1)
    assert predictor.input_names == ["image"]
    layer.eval()
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 16, 16)).astype(np.float32)
        (got,) = predictor.run(x)
        with paddle.no_grad():
            want = layer(paddle.to_tensor(x)).numpy()
        assert got.shape == (batch, 5)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # the same model given as its two files, and without oneDNN
    plain = inference.create_predictor((program, params), device="cpu", mkldnn=False)
    np.testing.assert_allclose(plain.run(x)[0], want, rtol=1e-4, atol=1e-5)


def test_bad_arguments_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no exported program"):
        inference.model_files(tmp_path / "missing")
    with pytest.raises(InputError, match="device='tpu'"):
        inference.parse_device("tpu")
    assert inference.parse_device("gpu:1") == ("gpu", 1)
    assert inference.parse_device("cpu") == ("cpu", 0)
    with pytest.raises(InputError, match="input_spec"):
        inference.export_layer(_tiny_layer(), [([None, 3], "float64", "x")], tmp_path / "bad")
    folder = inference.export_layer(_tiny_layer(), [([None, 3, 8, 8], "float32", "image")], tmp_path / "ok")
    with pytest.raises(InputError, match="fp16"):
        inference.create_predictor(folder, device="cpu", precision="fp16")
    predictor = inference.create_predictor(folder, device="cpu")
    with pytest.raises(InputError, match="takes 1 input"):
        predictor.run()


def test_gpu_request_runs_on_gpu_or_says_what_to_install(tmp_path: Path) -> None:
    layer = _tiny_layer()
    folder = inference.export_layer(layer, [([None, 3, 8, 8], "float32", "image")], tmp_path / "m")
    x = np.ones((2, 3, 8, 8), np.float32)
    if inference.gpu_available():
        cpu = inference.create_predictor(folder, device="cpu").run(x)[0]
        gpu = inference.create_predictor(folder, device="gpu:0")
        assert gpu.device == "gpu:0"
        np.testing.assert_allclose(gpu.run(x)[0], cpu, rtol=1e-3, atol=1e-4)
        assert inference.default_device() == "gpu:0"
    else:
        with pytest.raises(NotSupported, match="paddlepaddle-gpu"):
            inference.create_predictor(folder, device="gpu:0")
        assert inference.default_device() == "cpu"


def test_leaky_relu_models_get_a_predictor(tmp_path: Path) -> None:
    # paddle 3.3's oneDNN conv+leaky_relu fusion crashes the process; the helper skips that pass.
    import paddle
    from paddle import nn

    paddle.seed(0)
    layer = nn.Sequential(nn.Conv2D(3, 8, 3, bias_attr=False), nn.BatchNorm2D(8), nn.LeakyReLU(0.1),
                          nn.AdaptiveAvgPool2D(1), nn.Flatten(), nn.Linear(8, 2))
    folder = inference.export_layer(layer, [([None, 3, 16, 16], "float32", "image")], tmp_path / "leaky")
    code = ("import sys, numpy as np; from hubcore.inference import create_predictor; "
            f"p = create_predictor({str(folder)!r}, device='cpu'); "
            "print(p.run(np.ones((1, 3, 16, 16), np.float32))[0].shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("(1, 2)"), out.stderr[-1500:]
