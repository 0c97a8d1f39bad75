#!/usr/bin/env bash
# Run the test suite on a fresh or existing checkout: sets up .venv first (idempotent), then pytest.
# Extra arguments go to pytest, e.g. bash tools/test.sh -k bags
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh >&2
exec .venv/bin/python -m pytest -q "$@"
