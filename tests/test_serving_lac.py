"""`hub serving start -m lac` with the real weights: the issue's own example, over HTTP, in both isolations."""
from __future__ import annotations

import pytest

from hubcore.inference import gpu_available
from hubcore.settings import hub_home
from tests.support.serving_helpers import Server, free_port, session


@pytest.mark.parametrize("isolation", ["process", "thread"])
def test_lac_served_answers_as_lac_does_in_process(isolation, tmp_path):
    # The real cache (HUB_HOME as CI sets it), so the weights are fetched once across runs.
    server = Server(["-m", "lac", "--isolation", isolation], port=free_port(), hub_home=hub_home(),
                    log=tmp_path / "server.log").wait_ready(timeout=300)
    try:
        http = session()
        r = http.post(server.url + "/predict/lac", json={"text": ["百度是一家高科技公司", "LAC是个优秀的分词工具"]},
                      timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["results"] == [
            {"word": ["百度", "是", "一家", "高科技", "公司"], "tag": ["ORG", "v", "m", "n", "n"]},
            {"word": ["LAC", "是", "个", "优秀", "的", "分词", "工具"], "tag": ["nz", "v", "q", "a", "u", "n", "n"]},
        ]
        infer = http.post(server.url + "/v2/models/lac/infer", timeout=60, json={
            "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["今天天气不错"]}]})
        assert infer.status_code == 200, infer.text
        assert "今天" in infer.text and "TIME" in infer.text
        bad = http.post(server.url + "/predict/lac", json={"text": [1, 2]}, timeout=60)
        assert bad.status_code == 422 and "text" in bad.json()["msg"]
        # Was a 500 (the predictor's NotSupported) on a machine without a GPU.
        gpu = http.post(server.url + "/predict/lac", json={"text": ["百度"], "use_gpu": True}, timeout=60)
        if gpu_available():
            assert gpu.status_code == 200, gpu.text
        else:
            assert gpu.status_code == 422 and "use_gpu=True but this paddle sees no GPU" in gpu.json()["msg"], gpu.text
    finally:
        assert server.stop() == 0
