#!/usr/bin/env bash
# The whole test suite once per supported paddle release, each in its own virtualenv (set up or
# brought up to date by tools/dev_setup.sh first):
#   bash tools/run_tests.sh                                  # 3.3.1 in .venv, then 2.6.2 in .venv-paddle26
#   PADDLE_PASSES="2.6.2:.venv-paddle26" bash tools/run_tests.sh   # one pass (VERSION:VENV, space-separated)
# Extra arguments go to pytest. Exits non-zero when any pass fails, or collects no test.
# The passes run one after the other: on a 2-core machine two suites at once take as long in all.
set -uo pipefail
cd "$(dirname "$0")/.."

PASSES=${PADDLE_PASSES:-"3.3.1:.venv 2.6.2:.venv-paddle26"}
failed=()
for pass in $PASSES; do
    version=${pass%%:*}
    venv=${pass#*:}
    echo "== paddle $version in $venv: setup"
    if ! VENV="$venv" PADDLE_VERSION="$version" bash tools/dev_setup.sh; then
        failed+=("paddle $version: setup failed")
        continue
    fi
    # dev_setup keeps a paddle already in the env (a GPU build, say): make sure this pass tests the
    # release it names.
    have=$("$venv/bin/python" -c "import paddle; print(paddle.__version__)" 2>/dev/null | tail -1)
    if [ "$have" != "$version" ]; then
        failed+=("paddle $version: $venv has paddle ${have:-none}; remove $venv or name its release")
        continue
    fi
    echo "== paddle $version in $venv: tests"
    "$venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
    rc=$?
    # pytest exits 5 when it collected no test: a failure here, not a pass.
    [ "$rc" -eq 0 ] || failed+=("paddle $version: pytest exited $rc")
done

if [ "${#failed[@]}" -gt 0 ]; then
    printf 'run_tests: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "run_tests: every pass green ($PASSES)"
