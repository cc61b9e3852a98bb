"""The one results.json shape every benchmark writes.

``{"benchmark", "command", "machine", "rows": [{"method", "dataset", "metric", "values",
"mean", "std", ...}]}``; ``values`` holds one figure per seed, ``std`` is the sample standard
deviation (ddof = 1; 0 for a single seed). Rows may carry extra keys.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from pathlib import Path
from typing import Any

from advkt.atomic import write_text_atomic


def machine() -> str:
    """One line naming the machine a figure was measured on."""
    import torch

    if torch.cuda.is_available():
        dev = f"GPU {torch.cuda.get_device_name(0)}"
    else:
        dev = f"CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    return f"{dev}; torch {torch.__version__}; Python {platform.python_version()}"


def mean_std(values: list[float]) -> tuple[float, float]:
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    m = sum(values) / n
    if n == 1:
        return m, 0.0
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))


def row(method: str, dataset: str, metric: str, values: list[float], **extra: Any) -> dict:
    m, s = mean_std([float(v) for v in values])
    return {
        "method": method,
        "dataset": dataset,
        "metric": metric,
        "values": [float(v) for v in values],
        "mean": m,
        "std": s,
        **extra,
    }


def write_results(
    out_dir: str | Path,
    benchmark: str,
    rows: list[dict],
    command: str | None = None,
    indent: int | None = 2,
    **extra: Any,
) -> Path:
    """Write ``out_dir/results.json`` atomically and return its path; ``indent=None`` writes it
    on one line (a large benchmark's rows, a third of the size)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": benchmark,
        "command": command if command is not None else " ".join(sys.argv),
        "machine": machine(),
        "rows": rows,
        **extra,
    }
    path = out / "results.json"
    write_text_atomic(path, json.dumps(doc, indent=indent) + "\n")
    return path


def fmt(mean: float, std: float, digits: int = 2) -> str:
    """'mean ± std' for markdown tables."""
    return f"{mean:.{digits}f} ± {std:.{digits}f}"
