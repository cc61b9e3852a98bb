"""The validity rule of a distillation benchmark (docs/benchmarks.md), and its spec file.

A comparison counts only when four checks hold:

- ``anchor``: the teacher reaches the benchmark's published anchor accuracy;
- ``converged``: the student alone is converged: doubling its epochs moves its mean by less than
  ``converged_delta`` points;
- ``spread``: the student alone's seed spread is small enough to rank (std <= ``max_student_std``);
- ``gap``: there is room to transfer (teacher - student alone mean >= ``min_gap``).

A check whose input is missing (no anchor, one seed, no doubled run, no threshold) is
``"not checked"``, never a pass; a check whose threshold is set to ``null`` is not asked and does
not count. ``valid`` is true only when every asked check passes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml


class BenchmarkSpecError(ValueError):
    """A benchmark spec that cannot be used: the message names the key and the valid ones."""


_NUMBER = "a number"
_OPT_NUMBER = "a number or null"
# key: (what it must be, accepts null)
SPEC_KEYS: dict[str, tuple[str, bool]] = {
    "name": ("a string", False),
    "anchor": (_NUMBER, False),
    "anchor_source": ("a string", False),
    "student": ("a string (a recipe name)", False),
    "kd": ("a string (a recipe name)", False),
    "max_student_std": (_OPT_NUMBER, True),
    "min_gap": (_OPT_NUMBER, True),
    "converged_delta": (_OPT_NUMBER, True),
    "convergence": ("true or false", False),
    "convergence_seeds": ("a whole number >= 2 or null", True),
}
THRESHOLDS = ("converged_delta", "max_student_std", "min_gap")

# The rule's thresholds per dataset (docs/benchmarks.md); None: the rule asks no such check there.
RULE_DEFAULTS: dict[str, dict[str, float | None]] = {
    "mnist1d": {"converged_delta": 0.5, "max_student_std": 1.0, "min_gap": 3.0},
    "mnist": {"converged_delta": 0.5, "max_student_std": 0.15, "min_gap": None},
    "cifar10": {"converged_delta": 1.0, "max_student_std": 0.6, "min_gap": 3.0},
}
# on any other dataset: a missing std or gap threshold leaves that check "not checked"
GENERIC_DEFAULTS: dict[str, float | None] = {"converged_delta": 0.5}

CHECKS = ("anchor", "converged", "spread", "gap")
LABELS = {
    "anchor": "teacher anchor",
    "converged": "student-alone convergence (epochs x2)",
    "spread": "student-alone std",
    "gap": "teacher − student alone",
}


def _valid_keys() -> str:
    return ", ".join(SPEC_KEYS)


def load_spec(spec: str | Path | dict | None) -> dict[str, Any]:
    """Read and validate a benchmark spec (a YAML file or a dict); ``None`` is the empty spec.

    Returns only the keys given (thresholds are resolved per dataset by :func:`resolve_spec`).
    """
    if spec is None:
        return {}
    if isinstance(spec, (str, Path)):
        p = Path(spec)
        if not p.is_file():
            raise FileNotFoundError(f"benchmark spec not found: {p}")
        try:
            tree = yaml.safe_load(p.read_text())
        except yaml.YAMLError as exc:
            msg = str(exc).replace("\n", " ")
            raise BenchmarkSpecError(f"{p}: not valid YAML: {msg}") from None
        tree = {} if tree is None else tree
    else:
        tree = spec
    if not isinstance(tree, dict):
        raise BenchmarkSpecError(
            f"a benchmark spec must be a mapping of keys to values; valid keys: {_valid_keys()}"
        )
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if key not in SPEC_KEYS:
            raise BenchmarkSpecError(
                f"unknown benchmark spec key {key!r}; valid keys: {_valid_keys()}"
            )
        what, nullable = SPEC_KEYS[key]
        if value is None and nullable:
            out[key] = None
            continue
        if what in (_NUMBER, _OPT_NUMBER):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
            value = float(value) if ok else value
        elif what == "true or false":
            ok = isinstance(value, bool)
        elif what.startswith("a whole number"):
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 2
        else:
            ok = isinstance(value, str) and value != ""
        if not ok:
            raise BenchmarkSpecError(
                f"benchmark spec key {key!r}: expected {what}, got {value!r}; "
                f"valid keys: {_valid_keys()}"
            )
        out[key] = value
    for key in THRESHOLDS:
        if out.get(key) is not None and out[key] < 0:
            raise BenchmarkSpecError(f"benchmark spec key {key!r}: expected >= 0, got {out[key]}")
    return out


def resolve_spec(spec: dict[str, Any], dataset: str | None) -> dict[str, Any]:
    """The spec with the rule's thresholds for ``dataset`` filled in where the spec names none.

    A threshold given as ``null`` stays ``None`` (not asked); one absent with no default for the
    dataset is left out (asked, but "not checked" for want of a threshold).
    """
    out = {"convergence": False, **spec}
    defaults = RULE_DEFAULTS.get(dataset or "", GENERIC_DEFAULTS)
    for key in THRESHOLDS:
        if key not in out and key in defaults:
            out[key] = defaults[key]
    return out


def student_row(rows: list[dict], spec: dict[str, Any]) -> dict | None:
    """The student-alone row: the spec's ``student`` recipe, else the first 'student' row."""
    return _pick(rows, spec.get("student"), "student")


def kd_row(rows: list[dict], spec: dict[str, Any]) -> dict | None:
    """The KD row: the spec's ``kd`` recipe, else the first 'kd' row."""
    return _pick(rows, spec.get("kd"), "kd")


def _pick(rows: list[dict], name: str | None, method: str) -> dict | None:
    ranked = [r for r in rows if not r.get("convergence_check")]
    if name is not None:
        return next((r for r in ranked if r.get("recipe") == name), None)
    return next((r for r in ranked if r.get("method") == method), None)


def teacher_acc(rows: list[dict], spec: dict[str, Any]) -> float | None:
    """The teacher's test accuracy: the KD row's, else the first row that has one."""
    kd = kd_row(rows, spec)
    if kd is not None and kd.get("teacher_acc") is not None:
        return float(kd["teacher_acc"])
    t = next((r for r in rows if r.get("teacher_acc") is not None), None)
    return float(t["teacher_acc"]) if t else None


def _not_checked(why: str, need: str | None = None, asked: bool = True) -> dict:
    return {"status": "not checked", "value": None, "need": need, "why": why, "asked": asked}


def fmt_threshold(x: float) -> str:
    """A threshold as written: 1.0, 0.15, 92.5."""
    s = f"{x:g}"
    return s if ("." in s or "e" in s) else s + ".0"


def _judge(value: float, op: str, threshold: float) -> dict:
    ok = {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold}[op]
    return {
        "status": "pass" if ok else "fail",
        "value": value,
        "need": f"{op} {fmt_threshold(threshold)}",
        "asked": True,
    }


def check_anchor(teacher: float | None, anchor: float | None, source: str | None = None) -> dict:
    if anchor is None:
        return _not_checked("no anchor: a benchmark spec (--benchmark FILE) names it")
    if teacher is None:
        return _not_checked("no compared row has a teacher accuracy", f">= {fmt_threshold(anchor)}")
    out = _judge(teacher, ">=", anchor)
    if source:
        out["source"] = source
    return out


def _unjudgeable(
    key: str, threshold: float | None, op: str, student: dict | None, asked: bool, why: str
) -> dict | None:
    """The "not checked" record of a student-alone check that cannot be judged (not asked, no
    threshold, no student-alone row), else None."""
    if not asked:
        return _not_checked(f"not asked: {key} is null", asked=False)
    if threshold is None:
        return _not_checked(why)
    if student is None:
        return _not_checked("no student-alone row", f"{op} {fmt_threshold(threshold)}")
    return None


def check_spread(student: dict | None, max_std: float | None, asked: bool = True) -> dict:
    why = "no max_student_std for this dataset: set one in the benchmark spec"
    if (out := _unjudgeable("max_student_std", max_std, "<=", student, asked, why)) is not None:
        return out
    need = f"<= {fmt_threshold(max_std)}"
    if len(student["values"]) < 2:
        return _not_checked("one seed: the std needs at least two", need)
    return _judge(float(student["std"]), "<=", max_std)


def check_gap(
    teacher: float | None, student: dict | None, min_gap: float | None, asked: bool = True
) -> dict:
    why = "no min_gap for this dataset: set one in the benchmark spec"
    if (out := _unjudgeable("min_gap", min_gap, ">=", student, asked, why)) is not None:
        return out
    need = f">= {fmt_threshold(min_gap)}"
    if teacher is None:
        return _not_checked("no compared row has a teacher accuracy", need)
    return _judge(teacher - float(student["mean"]), ">=", min_gap)


def check_converged(
    student: dict | None, doubled: dict | None, delta: float | None, asked: bool = True
) -> dict:
    why = "no converged_delta: set one in the benchmark spec"
    if (out := _unjudgeable("converged_delta", delta, "<", student, asked, why)) is not None:
        return out
    need = f"< {fmt_threshold(delta)}"
    if doubled is None or not doubled.get("values"):
        return _not_checked("no doubled run: set convergence: true in the benchmark spec", need)
    moved = float(doubled["mean"]) - float(student["mean"])
    out = _judge(abs(moved), "<", delta)
    out.update(
        moved=moved,
        means=[float(student["mean"]), float(doubled["mean"])],
        epochs=[student.get("epochs"), doubled.get("epochs")],
    )
    return out


def validity(rows: list[dict], spec: dict[str, Any]) -> dict:
    """The rule's four checks on compared rows; ``spec`` as :func:`resolve_spec` returns it.

    ``{"valid": bool, "checks": {name: {"status", "value", "need", "asked", ...}}}``.
    """
    st = student_row(rows, spec)
    teacher = teacher_acc(rows, spec)
    doubled = st_check = None
    if st is not None:
        of = [r for r in rows if r.get("convergence_check") and r.get("of") == st["recipe"]]
        doubled = next((r for r in of if not r.get("convergence_base")), None)
        # with convergence_seeds the check has its own row of the student at its own epochs
        st_check = next((r for r in of if r.get("convergence_base")), st)
    checks = {
        "anchor": check_anchor(teacher, spec.get("anchor"), spec.get("anchor_source")),
        "converged": check_converged(
            st_check,
            doubled,
            spec.get("converged_delta"),
            asked=not ("converged_delta" in spec and spec["converged_delta"] is None),
        ),
        "spread": check_spread(
            st,
            spec.get("max_student_std"),
            asked=not ("max_student_std" in spec and spec["max_student_std"] is None),
        ),
        "gap": check_gap(
            teacher,
            st,
            spec.get("min_gap"),
            asked=not ("min_gap" in spec and spec["min_gap"] is None),
        ),
    }
    for name, c in checks.items():
        c["label"] = LABELS[name]
    asked = [c for c in checks.values() if c["asked"]]
    return {
        "valid": bool(asked) and all(c["status"] == "pass" for c in asked),
        "student": st["recipe"] if st else None,
        "teacher_acc": teacher,
        "checks": checks,
    }


def _num(v: float) -> str:
    return f"{v:.2f}"


_NEGATE = {">=": "<", "<=": ">", "<": ">="}


def describe(check: dict) -> str:
    """One line for a check, e.g. 'student-alone std 1.42 > 1 (fail)'."""
    label = check["label"]
    if check["status"] == "not checked":
        return f"{label} not checked ({check['why']})"
    op, threshold = check["need"].split(" ", 1)
    shown = op if check["status"] == "pass" else _NEGATE[op]
    value = _num(check["value"])
    if "moved" in check:  # the convergence check: say which way the mean moved
        a, b = check["means"]
        value = f"moved {abs(check['moved']):.2f} ({_num(a)} -> {_num(b)})"
    return f"{label} {value} {shown} {threshold} ({check['status']})"


def report_lines(v: dict) -> list[str]:
    """The lines ``advkt compare`` prints: one per failing or unchecked asked check, then the
    verdict."""
    lines = [
        f"validity: {describe(c)}"
        for c in v["checks"].values()
        if c["asked"] and c["status"] != "pass"
    ]
    n = sum(c["asked"] for c in v["checks"].values())
    lines.append(f"validity: valid (all {n} checks pass)" if v["valid"] else "validity: NOT valid")
    return lines
