#!/usr/bin/env bash
# The checks that need a GPU, in one run (the device machine's python3 holds torch with CUDA;
# nothing is installed). Writes its logs into ${OUT:-/tmp/device-check}. Each step has its own
# time limit, so a slow step costs only itself.
#   1. scripts/cuda_check.py: the same seeds on CPU and CUDA, one point per model kind;
#   2. the `full` tier on CUDA of the GPU-scale benchmarks, scored against their predictors.
set -u
out=${OUT:-/tmp/device-check}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 THEORYBENCH_PROGRESS=0 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$out/gpu.txt"
timeout "${CUDA_CHECK_S:-100}" python3 scripts/cuda_check.py --seeds 4 2>&1 | tee "$out/cuda_check.txt"
for bench in ${FULL_BENCHMARKS:-ntk-wide-net catapult-phases width-scaling-exponents}; do
  echo "== full tier on cuda: $bench"
  start=$(date +%s)
  timeout "${FULL_S:-120}" python3 -m harness run --tier full --device cuda --jobs "${JOBS:-4}" \
    --ignore-published --store /tmp/device-store -b "$bench" 2>&1 | tee "$out/full-$bench.txt"
  echo "exit ${PIPESTATUS[0]} after $(( $(date +%s) - start )) s" | tee -a "$out/full-$bench.txt"
done
