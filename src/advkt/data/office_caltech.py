"""Office-Caltech10 as 800-d SURF bag-of-words features (Gong et al. 2012; the domain-adaptation
benchmark of its authors' release), one MAT v5 file a domain.

Layout: ``<root>/office-caltech-surf/<domain>_SURF_L10.mat`` with ``fts`` (N, 800) word counts
and ``labels`` (N, 1) in 1..10, for the domains amazon (958), caltech (1,123), dslr (157) and
webcam (295). Read with ``scipy.io.loadmat``, which parses the arrays and runs no stored code
(``pip install 'advkt[da]'``). The features come back as float32 counts, the labels as 0..9;
any normalisation is the protocol's (``advkt.da``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from advkt.data._files import missing_files_error
from advkt.data.base import DataError, TensorData, check_split
from advkt.registry import register_dataset

DOMAINS = ("amazon", "caltech", "dslr", "webcam")
LAYOUT = "<root>/office-caltech-surf/<domain>_SURF_L10.mat (MAT v5: fts N x 800, labels N x 1)"
CLASSES = 10


def read_surf(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(features float32 (N, D), labels int64 (N,) in 0..9)`` of one SURF .mat file."""
    try:
        from scipy.io import loadmat
    except ImportError:  # pragma: no cover - scipy comes with the da extra
        raise DataError("reading .mat files needs scipy: pip install 'advkt[da]'") from None
    try:
        m = loadmat(str(path))
    except (ValueError, TypeError, OSError) as e:
        raise DataError(f"{path}: not a MAT v5 file ({e})") from e
    missing = [k for k in ("fts", "labels") if k not in m]
    if missing:
        raise DataError(f"{path}: no {' or '.join(missing)} array (keys: {sorted(m)})")
    x, y = np.asarray(m["fts"]), np.asarray(m["labels"]).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise DataError(f"{path}: fts {x.shape} and labels {y.shape} do not match")
    if y.size and (y.min() < 1 or y.max() > CLASSES or np.any(y != np.round(y))):
        raise DataError(f"{path}: labels must be integers 1-{CLASSES}")
    return x.astype(np.float32), y.astype(np.int64) - 1


@register_dataset("office_caltech")
def office_caltech(
    root: str | Path, split: str = "all", download: bool = False, domain: str = "amazon", **kw
) -> TensorData:
    """One domain of Office-Caltech10 SURF, every sample (``split="all"``: the domain-adaptation
    protocol draws its shots, unlabelled and test samples from it)."""
    check_split("office_caltech", split, ("all",), kw)
    if domain not in DOMAINS:
        raise DataError(f"office_caltech: unknown domain '{domain}'; valid: {', '.join(DOMAINS)}")
    path = Path(root) / "office-caltech-surf" / f"{domain}_SURF_L10.mat"
    if not path.is_file():
        raise missing_files_error("office_caltech", [path.name], [path.parent], LAYOUT)
    x, y = read_surf(path)
    return TensorData(
        torch.from_numpy(x), torch.from_numpy(y), CLASSES, name=f"office_caltech/{domain}"
    )
