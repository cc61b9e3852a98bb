"""Paired differences between compared rows over their shared seeds.

Every recipe of a comparison runs on the same seeds, so ``row - baseline`` can be taken seed by
seed: the seed's data order and initialisation are shared, and the paired spread is what ranks
two methods, not the two rows' own spreads. Rows carry ``seeds`` and ``values`` in the same order.
"""

from __future__ import annotations

from advkt.report.results import mean_std


def paired_difference(r: dict, base: dict) -> dict | None:
    """``r - base`` on each shared seed (in ``r``'s seed order): mean, sample std (0 for one
    seed), ``ahead`` (seeds where ``r`` is strictly higher) of ``n``; None with no shared seed."""
    base_by_seed = dict(zip(base["seeds"], base["values"]))
    diffs = [
        (s, float(v) - float(base_by_seed[s]))
        for s, v in zip(r["seeds"], r["values"])
        if s in base_by_seed
    ]
    if not diffs:
        return None
    m, sd = mean_std([d for _, d in diffs])
    return {
        "mean": m,
        "std": sd,
        "ahead": sum(d > 0 for _, d in diffs),
        "n": len(diffs),
        "against": base.get("recipe"),
        "seeds": [s for s, _ in diffs],
    }


def add_paired(rows: list[dict], student: dict | None, kd: dict | None) -> None:
    """Give every row but the student alone and the convergence rows a ``paired`` entry:
    ``{"student": {...}, "kd": {...}}`` (a baseline that is missing, or the row itself, is left
    out)."""
    for r in rows:
        if r.get("convergence_check") or r is student:
            continue
        paired = {}
        for key, base in (("student", student), ("kd", kd)):
            if base is None or base is r:
                continue
            d = paired_difference(r, base)
            if d is not None:
                paired[key] = d
        r["paired"] = paired


def fmt_paired(d: dict | None) -> str:
    """'+1.23 ± 0.40 (8/10)'; '—' for none."""
    if not d:
        return "—"
    return f"{d['mean']:+.2f} ± {d['std']:.2f} ({d['ahead']}/{d['n']})"
