"""Reader for KEEL ``.dat`` files (the KEEL imbalanced-data collection).

A KEEL file is ARFF-like::

    @relation ecoli1
    @attribute Mcg real [0.0, 0.89]
    @attribute Sex {M, F, I}
    @attribute Class {positive, negative}
    @inputs Mcg, Sex          (optional)
    @outputs Class            (optional)
    @data
    0.49, M, negative

Attributes are ``real``, ``integer`` or nominal ``{a, b, ...}``. The output (the class) is the
attribute named by ``@outputs``, else the last one. Nominal inputs are stored as their index in
the declared category list (float), so the matrix stays numeric; ``nominal`` lists those columns
for samplers and encoders. The class is stored as its index in the declared class list.
Missing values (``?`` or ``<null>``) are rejected with the line that holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from advkt.data.base import DataError, TensorData

_NUMERIC = {"real", "integer", "numeric"}
_MISSING = {"?", "<null>"}


@dataclass
class KeelAttribute:
    name: str
    kind: str  # "real", "integer" or "nominal"
    categories: tuple[str, ...] = ()


@dataclass
class KeelData:
    """A KEEL data set in memory.

    X: float64 (N, D) inputs, nominal columns as category indices.
    y: int64 (N,) class index into ``classes``.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    features: list[KeelAttribute]
    classes: tuple[str, ...]

    @property
    def nominal(self) -> list[int]:
        """Column indices of the nominal inputs."""
        return [j for j, a in enumerate(self.features) if a.kind == "nominal"]

    @property
    def minority(self) -> int:
        """Index of the least frequent class (ties: the first declared)."""
        counts = np.bincount(self.y, minlength=len(self.classes))
        return int(np.argmin(counts))

    def to_tensor_data(self) -> TensorData:
        return TensorData(
            torch.as_tensor(self.X, dtype=torch.float32),
            torch.as_tensor(self.y, dtype=torch.int64),
            num_classes=len(self.classes),
            name=self.name,
        )


def _split_values(text: str) -> list[str]:
    return [v.strip() for v in text.split(",")]


def _parse_attribute(rest: str, where: str) -> KeelAttribute:
    rest = rest.strip()
    if "{" in rest:
        name, _, cats = rest.partition("{")
        if not cats.rstrip().endswith("}"):
            raise DataError(f"{where}: nominal attribute without a closing '}}': {rest!r}")
        categories = tuple(c for c in _split_values(cats.rstrip()[:-1]) if c)
        if not name.strip() or not categories:
            raise DataError(f"{where}: expected '@attribute NAME {{a, b, ...}}', got {rest!r}")
        return KeelAttribute(name.strip(), "nominal", categories)
    parts = rest.split(None, 2)
    if len(parts) < 2 or parts[1].lower() not in _NUMERIC:
        raise DataError(
            f"{where}: expected '@attribute NAME real|integer [lo, hi]' or "
            f"'@attribute NAME {{a, b, ...}}', got {rest!r}"
        )
    kind = "integer" if parts[1].lower() == "integer" else "real"
    return KeelAttribute(parts[0], kind)


def read_keel(path: str | Path) -> KeelData:
    """Read a KEEL ``.dat`` file; raise ``DataError`` naming the file and line of any fault."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such KEEL .dat file")
    attributes: list[KeelAttribute] = []
    outputs: list[str] | None = None
    relation = path.stem
    rows: list[list[float]] = []
    labels: list[int] = []
    in_data = False
    out_idx = -1
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        where = f"{path}, line {lineno}"
        if not line or line.startswith("%"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DataError(f"{where}: expected a header line starting with '@', got {line!r}")
            key, _, rest = line.partition(" ")
            key = key.lower()
            if key == "@relation":
                relation = rest.strip() or relation
            elif key == "@attribute":
                attributes.append(_parse_attribute(rest, where))
            elif key in ("@inputs", "@input"):
                continue
            elif key in ("@outputs", "@output"):
                outputs = _split_values(rest)
            elif key == "@data":
                if len(attributes) < 2:
                    raise DataError(
                        f"{where}: '@data' after {len(attributes)} '@attribute' lines; "
                        "expected at least one input and the class"
                    )
                names = [a.name for a in attributes]
                if outputs:
                    if len(outputs) != 1 or outputs[0] not in names:
                        raise DataError(
                            f"{path}: '@outputs {', '.join(outputs)}' must name one declared "
                            f"attribute (declared: {', '.join(names)})"
                        )
                    out_idx = names.index(outputs[0])
                else:
                    out_idx = len(attributes) - 1
                if attributes[out_idx].kind != "nominal":
                    raise DataError(
                        f"{path}: the class attribute '{attributes[out_idx].name}' must be "
                        "nominal ({positive, negative}), it is declared "
                        f"{attributes[out_idx].kind}"
                    )
                in_data = True
            else:
                raise DataError(
                    f"{where}: unknown header {key!r}; expected @relation, @attribute, "
                    "@inputs, @outputs or @data"
                )
            continue
        values = _split_values(line)
        if len(values) != len(attributes):
            raise DataError(
                f"{where}: {len(values)} values, expected {len(attributes)} "
                f"(one per @attribute): {line!r}"
            )
        row: list[float] = []
        for j, (v, a) in enumerate(zip(values, attributes)):
            if v in _MISSING:
                raise DataError(f"{where}: missing value {v!r} for '{a.name}' (not supported)")
            if a.kind == "nominal":
                if v not in a.categories:
                    raise DataError(
                        f"{where}: {v!r} is not a declared value of '{a.name}' "
                        f"({', '.join(a.categories)})"
                    )
                code = a.categories.index(v)
                if j == out_idx:
                    labels.append(code)
                else:
                    row.append(float(code))
            else:
                try:
                    row.append(float(v))
                except ValueError:
                    raise DataError(
                        f"{where}: {v!r} is not a number for {a.kind} attribute '{a.name}'"
                    ) from None
        rows.append(row)
    if not in_data:
        raise DataError(f"{path}: no '@data' line; not a KEEL .dat file")
    if not rows:
        raise DataError(f"{path}: no data rows after '@data'")
    features = [a for j, a in enumerate(attributes) if j != out_idx]
    return KeelData(
        name=relation,
        X=np.asarray(rows, dtype=np.float64),
        y=np.asarray(labels, dtype=np.int64),
        features=features,
        classes=attributes[out_idx].categories,
    )
