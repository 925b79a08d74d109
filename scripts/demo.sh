#!/usr/bin/env bash
# Run the demo on the embedded default: SQLite event store + embedded Kafka-protocol broker.
#   bash scripts/demo.sh [--customers N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
exec .venv/bin/lethe demo "$@"
