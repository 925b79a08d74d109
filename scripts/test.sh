#!/usr/bin/env bash
# Install everything and run the whole suite: the one command a newcomer runs.
#   bash scripts/test.sh                      # everything
#   bash scripts/test.sh -m "not integration" # pytest arguments pass through
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=.venv
bash scripts/install.sh '[test]'

bash scripts/ensure-postgres.sh
bash scripts/ensure-chromium.sh

# Types first: a type error fails the run before the slower tests start.
# Settings and the files checked are in pyproject.toml [tool.mypy].
"$venv/bin/python" -m mypy

args=("$@")
if [ "${CI:-}" = "true" ]; then
    args=(--durations=15 "${args[@]}")
fi
# `python -m` puts the checkout on sys.path, so tests import tests.support.
status=0
"$venv/bin/python" -m pytest "${args[@]}" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest selected no tests" >&2
    exit 0
fi
exit "$status"
