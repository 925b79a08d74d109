#!/usr/bin/env bash
# The console's browser tests drive Debian's chromium through its chromedriver
# (tests/support/browser.py). Installed here when missing: `apt-get update` once,
# then the two packages. Needs root (as here and in CI) or sudo.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "ensure-chromium.sh: chromium and chromium-driver are missing, and installing them needs root or sudo" >&2
    exit 1
fi
echo "ensure-chromium.sh: installing Debian's chromium and chromium-driver" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q >/dev/null
"${as_root[@]}" apt-get install -y -q chromium chromium-driver >/dev/null
