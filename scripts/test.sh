#!/usr/bin/env bash
# Install everything and run the whole suite: the one command a newcomer runs.
#   bash scripts/test.sh                      # everything
#   bash scripts/test.sh -m "not integration" # pytest arguments pass through
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=.venv
if [ ! -x "$venv/bin/python" ]; then
    echo "test.sh: creating $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
fi

# Install only when the dependency files changed: an editable install builds in
# a fresh environment from the package index every time, which is slow.
stamp="$venv/.lethe-install-stamp"
wanted=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    echo "test.sh: installing lethe[test] with requirements.lock" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c requirements.lock -e '.[test]'
    echo "$wanted" >"$stamp"
fi

bash scripts/ensure-postgres.sh

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
