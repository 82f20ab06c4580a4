#!/usr/bin/env bash
# GPU benchmarks (bench/_gpu_bench.py): M4 7B streaming real-time factor, GPU vs CPU video decoding.
# Runs only where a CUDA GPU is visible; elsewhere prints {"skipped": ...} and exits 0. Budget: < 8 min.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python}"
if ! "$python" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
  echo '{"skipped": "no CUDA GPU visible to torch"}'
  exit 0
fi
timeout 480 "$python" bench/_gpu_bench.py
