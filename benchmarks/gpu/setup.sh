# Sourced by the GPU scripts here (not run alone): the device image's missing packages from the
# carried .whl/, the repository's src/ on the path, the carried data and state folders, and the
# GPU named in $OUT/gpu.txt. Needs OUT set.
mkdir -p "$OUT" .gpu-state
if ls .whl/*.whl >/dev/null 2>&1; then  # what the device image lacks (pydantic, torch-pruning)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export ADVKT_DATA="$PWD/shared-data" ADVKT_CACHE="$PWD/.gpu-state"
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true) \
  > "$OUT/gpu.txt" 2>&1
