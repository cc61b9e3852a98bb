#!/usr/bin/env bash
# Robust compression on CIFAR-10 / ResNet-20 at full scale (issue #14, point 4), on a lent GPU, in
# slices that fit one device call: `benchmarks/robust_compression.py accuracy --suite cifar10`
# (the robust ResNet-20 teacher, PGD-7 at 8/255, 100 epochs; then ours, ADMM and adversarial
# training + magnitude pruning at rates 1, 5, 10, 20, 50, 50 epochs each, 3 seeds; PGD-20
# evaluation, PGD-100 for the 20x and 50x rows), in bf16 autocast and channels-last.
#
# Each call trains for BUDGET_S seconds (default 480), stops at an epoch's checkpoint (SIGINT; a
# kill never leaves a corrupt checkpoint), and brings back under $OUT: log.txt, gpu.txt, the
# records of the runs finished so far (records.tgz: benchmarks/results/robust-cifar10/) and the
# training state to continue from (state.tgz: the teacher's and the unfinished runs' folders).
#
# Before the first call, here (the repository root; all three paths are git-ignored):
#   mkdir -p shared-data && cp -r ../shared/data/cifar10-jpeg shared-data/
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl pydantic pydantic-core annotated-types typing-inspection torch-pruning
#   mkdir -p .gpu-state
# Each call (the device tool):
#   run(command="bash benchmarks/gpu/robust_cifar10.sh", timeout_s=600,
#       carry=["shared-data", ".whl", ".gpu-state"])
# After each call, here: unpack records.tgz into the repository (tar xzf FILES_AT/records.tgz)
# and state.tgz into .gpu-state (rm -rf .gpu-state && tar xzf FILES_AT/state.tgz), commit the
# records with the GPU named (gpu.txt), and call again until log.txt ends with "runs done".
set -uo pipefail
BUDGET_S=${BUDGET_S:-480}
OUT=${OUT:-/tmp/robust-cifar10-out}
source benchmarks/gpu/setup.sh
fast=(train.amp=bf16 train.channels_last=true teacher.train.amp=bf16
      teacher.train.channels_last=true)
timeout -s INT "$BUDGET_S" python3 benchmarks/robust_compression.py accuracy --suite cifar10 \
  --workers 1 --seeds "${SEEDS:-3}" --set "${fast[@]}" "$@" 2>&1 | tee "$OUT/log.txt"
rc=${PIPESTATUS[0]}
# a finished run keeps its figures (its record) and loses its weights; the teacher and the run
# in flight keep theirs
for d in .gpu-state/robust-cifar10/runs/*/; do
  [ -f "$d/eval.json" ] && rm -rf "$d/ckpt"
done
tar czf "$OUT/state.tgz" --exclude='*.safetensors.tmp*' \
  $(cd . && ls -d .gpu-state/teachers .gpu-state/robust-cifar10 2>/dev/null)
tar czf "$OUT/records.tgz" benchmarks/results/robust-cifar10 2>/dev/null
echo "exit status $rc (124: stopped at the time budget, to be continued)" | tee -a "$OUT/log.txt"
