#!/usr/bin/env bash
# One-call check on a GPU machine: device info, the CuPy test cases, then the benchmarks on the GPU (and CPU).
#
# Runs from the source tree with the machine's own python3, CuPy, pytest and torch: no venv, no network.
# hypothesis (needed by tests/conftest.py) is installed from wheels in $WHEELS when missing;
# fetch them beforehand on a networked machine with `make gpu-wheels`.
# Results: $OUT/bench-cuda.json and $OUT/bench-cpu.json when OUT is set, else benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
WHEELS=${WHEELS:-shared/wheels}
RESULTS=${OUT:-benchmarks/results}
mkdir -p "$RESULTS"

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$PY" - <<'PY'
import sys

import cupy
import numpy

import nbgrad as nb

print(f"python {sys.version.split()[0]}, numpy {numpy.__version__}, cupy {cupy.__version__}")
count = cupy.cuda.runtime.getDeviceCount()
for i in range(count):
    props = cupy.cuda.runtime.getDeviceProperties(i)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    print(f"cuda:{i} {name} {props['totalGlobalMem'] / 2**30:.0f} GiB,"
          f" compute capability {props['major']}.{props['minor']}")
print(f"CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}, driver {cupy.cuda.runtime.driverGetVersion()}")
if not nb.cuda.is_available():
    sys.exit("nbgrad does not see the GPU: nb.cuda.is_available() is False")
print("nb.cuda.device_count() =", nb.cuda.device_count())
PY

if ! "$PY" -c "import hypothesis" 2>/dev/null; then
    echo "== installing hypothesis from $WHEELS"
    if ! compgen -G "$WHEELS/*.whl" >/dev/null; then
        echo "hypothesis is missing and $WHEELS holds no wheels: run 'make gpu-wheels' on a networked machine" >&2
        exit 1
    fi
    site=$(mktemp -d)
    # A wheel is a zip of an installed package: unpacking it needs neither pip nor a network.
    for wheel in "$WHEELS"/*.whl; do "$PY" -m zipfile -e "$wheel" "$site"; done
    export PYTHONPATH="$PYTHONPATH:$site"
fi

echo "== CuPy test cases (pytest -m cuda)"
# pytest exits 5 when nothing is selected, so an empty run fails this script too.
HYPOTHESIS_PROFILE=gpu "$PY" -m pytest tests -m cuda -q -p no:cacheprovider

echo "== benchmarks, cuda"
"$PY" -m benchmarks.run --device cuda --out "$RESULTS/bench-cuda.json"
echo "== benchmarks, cpu"
"$PY" -m benchmarks.run --device cpu --out "$RESULTS/bench-cpu.json"
