#!/usr/bin/env bash
# Runs a desispec test file with the fixture's venv (make_venv.sh), without PYTHONPATH,
# so that `libextract` is the installed wheel:  run_in_venv.sh VENV_DIR TEST_FILE
# Exits 77 (CTest "skipped") when the fixture could not reach PyPI.
set -euo pipefail
venv=$1
test_file=$2
if [ -f "$venv/SKIP" ]; then
  echo "skipped: $(cat "$venv/SKIP")"
  exit 77
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "run_in_venv: $venv/bin/python is missing (the desispec_venv fixture failed)" >&2
  exit 1
fi
unset PYTHONPATH
cd "$(dirname "$test_file")/.."
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$test_file"
