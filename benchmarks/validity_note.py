"""Print the validity checks of a committed comparison: ``python benchmarks/validity_note.py
benchmarks/results/mnist1d/results.json`` (what ``make demo`` says after its own table)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: str) -> int:
    p = Path(path)
    if not p.is_file():
        print(f"{p}: no committed results yet", file=sys.stderr)
        return 0
    res = json.loads(p.read_text())
    v = res.get("validity")
    if v is None:
        print(f"{p}: no validity record", file=sys.stderr)
        return 0
    seeds = max(len(r["values"]) for r in res["rows"])
    verdict = "valid" if v["valid"] else "NOT valid"
    print(f"The committed run {p.parent} ({seeds} seeds): {verdict}")
    for name, c in v["checks"].items():
        value = "" if c.get("value") is None else f" {c['value']:.2f} (need {c['need']})"
        print(f"  {name}: {c['status']}{value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
