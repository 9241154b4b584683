#!/usr/bin/env bash
# The GPU measurements of docs/performance.md, in one short run (about 6 minutes at most). From the repo root:
#
#     OUT=/some/folder bash scripts/gpu_check.sh
#
# It needs python3 with torch, torchvision, numpy, pytest and pytest-benchmark; no syne-tune or dask,
# no network. Every part runs under its own time limit, capped by what is left of TOTAL_S, so a part
# that fails or hangs leaves the others' figures. Writes $OUT/gpu_check.txt (everything printed) and
# $OUT/bench-<part>.json (pytest-benchmark). Without CUDA every benchmark is skipped: a quick check
# that the script and its imports work.
set -u
OUT="${OUT:-/tmp/gpu_check}"
PY="${PY:-python3}"
TOTAL_S="${TOTAL_S:-340}"
mkdir -p "$OUT"
LOG="$OUT/gpu_check.txt"
: >"$LOG"
exec > >(tee -a "$LOG") 2>&1
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
export OHGW_GPU_PACK_K="${OHGW_GPU_PACK_K:-1,2,4,8}"
export OHGW_GPU_PACK_SECONDS="${OHGW_GPU_PACK_SECONDS:-3}"
START=$(date +%s)

part() {  # part NAME LIMIT_S COMMAND...
    local name=$1 limit=$2 left t0 rc
    shift 2
    left=$((TOTAL_S - ($(date +%s) - START)))
    if [ "$left" -lt 15 ]; then
        echo "== $name: skipped, only ${left}s of ${TOTAL_S}s left"
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name (limit ${limit}s) $(date -u +%H:%M:%S)"
    t0=$(date +%s)
    timeout -k 5 "$limit" "$@"
    rc=$?
    echo "== $name: exit $rc after $(($(date +%s) - t0))s$([ "$rc" -eq 124 ] && echo ' (TIME LIMIT)')"
}

bench() {  # bench NAME LIMIT_S PYTEST_K_EXPRESSION
    part "$1" "$2" "$PY" -m pytest tests/bench/test_bench_gpu.py -k "$3" --benchmark-only -o addopts="" \
        -p no:cacheprovider -q -rs --benchmark-columns=median,rounds --benchmark-json="$OUT/bench-$1.json"
}

part environment 60 bash -c '
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | head -3
    echo "cpus: $(nproc)"
    '"$PY"' - <<PYEOF
import sys
import torch, torchvision
print("python", sys.version.split()[0], "torch", torch.__version__, "torchvision", torchvision.__version__,
      "cuda", torch.cuda.is_available() and torch.cuda.get_device_name())
import ohgw_bench.execution.graphs, ohgw_bench.execution.train, ohgw_bench.execution.trial, ohgw_bench.tasks.data.cifar10  # noqa
sys.path.insert(0, "tests/bench")
import gpu_pack  # noqa
heavy = sorted(m for m in ("syne_tune", "dask", "distributed") if m in sys.modules)
print("modules the benchmarks import pull in syne-tune/dask:", heavy or "no")
sys.exit(1 if heavy else 0)
PYEOF'
bench trainer-epoch 110 test_trainer_epoch_eager_vs_graphs
bench dataloader 60 test_plain_dataloader_loop
bench packed 140 test_packed_trials_throughput
bench ohgw-step 50 test_ohgw_vs_graphed_step_on_gpu
bench trial 90 test_cifar10_resnet20_trial_epochs_on_gpu
echo "== done in $(($(date +%s) - START))s; output in $LOG"
