#!/usr/bin/env bash
# CLI start-up, a benchmark (docs/performance.md "CLI start-up"): the mean of
# RUNS runs of `lethe --help` and `lethe retention due ...`, for the checkout and
# for another commit (default: none), with hyperfine when installed.
#   bash scripts/cli-startup.sh [COMMIT] [RUNS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
commit="${1:-}" runs="${2:-20}" python="$PWD/.venv/bin/python"
due="retention due --policy sector-alarm --category verification-image --captured-at 2026-03-25T12:00:00+01:00"
# Run `lethe` from a given tree: the editable install would import this checkout.
shim='import sys
sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__]
sys.path.insert(0, sys.argv.pop(1))
from lethe.ops.cli.main import main
main(sys.argv[1:], prog_name="lethe")'
trees=("$PWD")
if [ -n "$commit" ]; then
    old="$(mktemp -d)"; trap 'rm -rf "$old"' EXIT
    git archive "$commit" lethe | tar -x -C "$old"
    trees=("$old" "$PWD")
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for tree in "${trees[@]}"; do
    label="$( [ "$tree" = "$PWD" ] && echo checkout || echo "$commit" )"
    for args in "--help" "$due"; do
        if command -v hyperfine >/dev/null; then
            hyperfine -N --runs "$runs" "$python -c '$shim' $tree $args"
        else
            start=$(date +%s%N)
            for _ in $(seq "$runs"); do "$python" -c "$shim" "$tree" $args >/dev/null; done
            ms=$(( ($(date +%s%N) - start) / runs / 1000000 ))
            echo "$label: lethe ${args%% --*}: ${ms} ms a run (mean of $runs)"
        fi
    done
done
start=$(date +%s%N)
for _ in $(seq "$runs"); do "$python" -c pass; done
echo "python -c pass: $(( ($(date +%s%N) - start) / runs / 1000000 )) ms a run"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
