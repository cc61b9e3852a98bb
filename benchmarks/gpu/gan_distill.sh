#!/usr/bin/env bash
# GAN distillation (issue #19) on a lent GPU: benchmarks/gan_distill.py --task $TASK (usps-mnist,
# the default, or cifar10-color) with the width-16 teacher and 20 epochs (the CPU default: 10),
# its 1/2 and 1/4 students by every method (scratch, pixel, feature, ours), the validation sweep,
# 3 seeds for ours and the best peer. Records land in benchmarks/results/gan-distill-$TASK-gpu/
# (a CPU run keeps its own folder); the teacher, judge and unfinished runs continue from
# .gpu-state across calls
# (width 16 keeps that state near 35 MB: a width-32 teacher's two checkpoints with their Adam
# moments would pass the 64 MiB a call can carry).
#
# Before the first call, here (the repository root; all three paths are git-ignored):
#   mkdir -p shared-data && cp -r ../shared/data/{mnist,usps} shared-data/   # usps-mnist
#   mkdir -p shared-data && cp -r ../shared/data/cifar10-jpeg shared-data/   # cifar10-color
#   (only the task's data: a call carries 64 MiB in all)
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl pydantic pydantic-core annotated-types typing-inspection
#   mkdir -p .gpu-state
# Each call (the device tool):
#   run(command="TASK=usps-mnist bash benchmarks/gpu/gan_distill.sh", timeout_s=600,
#       carry=["shared-data", ".whl", ".gpu-state"])
# After each call, here: tar xzf FILES_AT/records.tgz; rm -rf .gpu-state && tar xzf
# FILES_AT/state.tgz; commit the records with the GPU named (gpu.txt); call again until log.txt
# ends with "wrote".
set -uo pipefail
TASK=${TASK:-usps-mnist}
BUDGET_S=${BUDGET_S:-480}
OUT=${OUT:-/tmp/gan-distill-out}
source benchmarks/gpu/setup.sh
timeout -s INT "$BUDGET_S" python3 benchmarks/gan_distill.py --task "$TASK" --workers 1 \
  --teacher-width 16 --epochs 20 --out "benchmarks/results/gan-distill-$TASK-gpu" "$@" \
  2>&1 | tee "$OUT/log.txt"
rc=${PIPESTATUS[0]}
# the decoded CIFAR-10 tensors (177 MB) are decoded again by the next call, not carried
tar czf "$OUT/state.tgz" --exclude='*.tmp*' --exclude='cifar10-jpeg-*' .gpu-state 2>/dev/null
tar czf "$OUT/records.tgz" "benchmarks/results/gan-distill-$TASK-gpu" 2>/dev/null
echo "exit status $rc (124: stopped at the time budget, to be continued)" | tee -a "$OUT/log.txt"
