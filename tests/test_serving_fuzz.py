"""Fuzz a real server through its own OpenAPI document with schemathesis: no 5xx, no crash.

Bounded: at most MAX_EXAMPLES cases per operation, a wall-clock limit on the run, loopback only.
The test module's `fail` and `crash` methods fail on purpose (their 500s are tested in
test_serving_http), so their operations are left out; everything else must answer 2xx/4xx as documented.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.serving_helpers import Server, free_port, make_testmod, session

MAX_EXAMPLES = 50
WALL_CLOCK_S = 90
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "response_headers_conformance,negative_data_rejection")


def test_fuzzing_the_generated_openapi_finds_no_server_error(tmp_path):
    make_testmod(tmp_path / "testmod")
    port = free_port()
    config = tmp_path / "serving.json"
    # sleeps capped so generated `seconds` values cannot stall the run
    config.write_text(json.dumps({"modules_info": {"testmod": {"directory": "testmod",
                                                               "init_args": {"max_sleep_s": 0.05}}}}))
    server = Server(["-c", str(config), "--timeout-s", "5", "--log-level", "warning"], port=port,
                    hub_home=tmp_path / "home").wait_ready()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(NO_PROXY="127.0.0.1,localhost")
    try:
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
             "--max-examples", str(MAX_EXAMPLES), "--seed", "20240601", "--phases", "coverage,fuzzing",
             "--workers", "2", "--checks", CHECKS, "--exclude-path-regex", "fail|crash",
             "--request-timeout", "10", "--output-truncate", "true", "--report-dir", str(tmp_path / "report")],
            capture_output=True, text=True, timeout=WALL_CLOCK_S, env=env, cwd=tmp_path)
        out = run.stdout + run.stderr
        assert "No module named" not in out, "schemathesis is missing: pip install schemathesis (tests/requirements.txt)"
        assert run.returncode == 0, out[-6000:]
        assert " passed" in out and "Tested:" in out
        assert session().get(server.url + "/v2/health/ready").status_code == 200  # still up after the run
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log(), server.log()[-4000:]
