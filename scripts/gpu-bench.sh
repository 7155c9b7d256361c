#!/usr/bin/env bash
# GPU throughput of each torch app (its gpu-args) through every strategy that reaches the GPU on this machine: the machine's own
# PyTorch ("venv"), a PyInstaller onedir bundle built here, and the CUDA image with --gpus all where Docker and
# the NVIDIA Container Toolkit are. Writes one record per row to evidence/gpu/<host>/ (or the folder given).
#
#   bash scripts/gpu-bench.sh [RESULTS_DIR]          PYTHON=/path/to/python to pick the interpreter
#
# Installs nothing. It checks first and says what is missing: a CUDA torch (required); rich, jsonschema and
# packaging (the harness; `pip install rich jsonschema packaging`); PyInstaller for the bundle row
# (`pip install -r shipbench/tools/pyinstaller.txt`; without it that row is recorded as skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
out=${1:-evidence/gpu/$(hostname)}

"$python" - <<'CHECK'
import importlib.util, sys
missing = [name for name in ("rich", "jsonschema", "packaging") if importlib.util.find_spec(name) is None]
if missing:
    sys.exit(f"gpu-bench: the harness needs {', '.join(missing)} for {sys.executable}: pip install {' '.join(missing)}")
if importlib.util.find_spec("torch") is None:
    sys.exit(f"gpu-bench: {sys.executable} has no torch; set PYTHON to the interpreter of your PyTorch environment")
for name, why in (("PyInstaller", "the PyInstaller row will be skipped"),):
    if importlib.util.find_spec(name) is None:
        print(f"gpu-bench: no {name} for {sys.executable}: {why}", file=sys.stderr)
CHECK

PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" SHIPBENCH_COMMAND="bash scripts/gpu-bench.sh" \
    exec "$python" -m shipbench gpu --interpreter "$python" --results "$out"
