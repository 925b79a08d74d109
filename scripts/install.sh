#!/usr/bin/env bash
# Create .venv and install Lethe (with EXTRAS, e.g. "[test]") against requirements.lock.
#   bash scripts/install.sh            # the service
#   bash scripts/install.sh '[test]'   # and what the tests need
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

extras=${1:-}
venv=.venv
if [ ! -x "$venv/bin/python" ]; then
    echo "install.sh: creating $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
fi

# Install only when the dependency files changed: an editable install builds in
# a fresh environment from the package index every time, which is slow.
stamp="$venv/.lethe-install-stamp$extras"
wanted=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    echo "install.sh: installing lethe$extras with requirements.lock" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c requirements.lock -e ".$extras"
    echo "$wanted" >"$stamp"
fi
