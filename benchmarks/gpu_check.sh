#!/usr/bin/env bash
# The GPU figures and CUDA checks of docs/BENCHMARKS.md in one run (see benchmarks/gpu_check.py).
# Run from anywhere on a machine with a CUDA GPU and the project's environment:
#   benchmarks/gpu_check.sh [--append-docs]
# Results: $OUT/gpu_check.json (OUT defaults to build/gpu_check) and the section printed on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
OUT="${OUT:-$ROOT/build/gpu_check}"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1
"$PY" -c 'import torch' 2>/dev/null || { echo "error: $PY cannot import torch; set PYTHON to the project environment's python" >&2; exit 2; }
"$PY" -c 'import sys, torch; torch.cuda.is_available() or sys.exit("error: no CUDA GPU visible to torch " + torch.__version__)' || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
exec "$PY" benchmarks/gpu_check.py --out "$OUT" "$@"
