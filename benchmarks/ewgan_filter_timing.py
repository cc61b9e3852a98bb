"""The two fixed EWGAN forms' fit_resample time side by side (issue #15): `support` and `safe`
differ only in how they order the same neighbour scores, so their cost should be the same; this
checks it in one process, interleaved, on the first training fold (seed 0) of four KEEL sets,
two rounds each. Writes benchmarks/results/ewgan-keel/filter-timing.json.

    OMP_NUM_THREADS=1 ADVKT_DATA=../shared/data python benchmarks/ewgan_filter_timing.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import ewgan_keel as ek  # noqa: E402

SETS = ("ecoli1", "glass0", "pima", "yeast3")
FORMS = ("ewgan-share-support", "ewgan-share-safe")


def main() -> None:
    from sklearn.model_selection import StratifiedKFold

    from advkt.data.keel import read_keel

    data_dir = Path(os.environ.get("ADVKT_DATA", ROOT.parent / "shared" / "data")) / "keel"
    out = ROOT / "benchmarks" / "results" / "ewgan-keel" / "filter-timing.json"
    cfg = ek.BenchConfig(data_dir=data_dir, out=out.parent, ewgan_steps=dict.fromkeys(FORMS, 100))
    times: dict[str, list[float]] = {m: [] for m in FORMS}
    for name in SETS:
        data = read_keel(data_dir / f"{name}.dat")
        y = (data.y == data.minority).astype(np.int64)
        tr, _ = next(StratifiedKFold(5, shuffle=True, random_state=0).split(data.X, y))
        for _ in range(2):
            for m in FORMS:  # interleaved: the machine's load falls on both alike
                sampler = ek.make_sampler(m, 0, data.nominal, cfg)
                t0 = time.perf_counter()
                sampler.fit_resample(data.X[tr], y[tr])
                times[m].append(time.perf_counter() - t0)
    ratio = np.array(times[FORMS[1]]) / np.array(times[FORMS[0]])
    res = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/ewgan_filter_timing.py",
        "sets": SETS,
        "seconds": times,
        "median_s": {m: float(np.median(v)) for m, v in times.items()},
        "safe_over_support": [round(float(r), 3) for r in ratio],
        "median_safe_over_support": float(np.median(ratio)),
    }
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: res[k] for k in ("median_s", "median_safe_over_support")}))


if __name__ == "__main__":
    main()
