"""MNIST-1D (Greydanus & Kobak, 2024, "Scaling down deep learning with MNIST-1D", ICML), generated
offline with the procedure of the reference generator (greydanus/mnist1d, ``mnist1d/data.py``
and ``mnist1d/transform.py``), re-implemented here on numpy alone.

Each of the 10 digits is a 12-point template ``x_d`` (whitened, shifted to start at 0, divided by
6). A sample of digit d, drawing every random number from one ``RandomState(seed)`` in this order:

1. pad: append ``p = 36 + floor(u * 25)`` zeros (u ~ U[0, 1)) to ``x_d + 1e-8``, then resample
   linearly to 12 + 60 = 72 points;
2. scale by ``1 + 0.4 (u - 0.5)``;
3. translate: roll right by ``k``, k uniform in {0, ..., 47};
4. correlated noise: where the signal is exactly 0, put ``G_2 * (0.25 e)``, e ~ N(0, I_72) and
   G_2 the Gaussian filter with sigma 2 (radius 8, mirror-reflected edges);
5. iid noise: add ``0.02 e``;
6. shear: subtract ``0.75 (u - 0.5) * linspace(-0.5, 0.5, 72)``;
7. resample linearly to 40 points.

500 samples a digit (digits in order), then one permutation of the batch; the whole set is
standardised by its global mean and std and split 80/20 into train/test. Defaults match the
reference: num_samples=5000, train_split=0.8, seed=42. Published test accuracies for scale:
logistic regression ~32%, MLP ~68%, CNN ~94%.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from advkt.data.base import DataError, TensorData, check_split
from advkt.data.cache import cached_tensors
from advkt.registry import register_dataset

TEMPLATE_LEN = 12
PADDING = (36, 60)
SCALE_COEFF = 0.4
MAX_TRANSLATION = 48
CORR_NOISE_SCALE = 0.25
IID_NOISE_SCALE = 2e-2
SHEAR_SCALE = 0.75
FINAL_SEQ_LENGTH = 40

_DIGITS = (
    (5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5),
    (5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5),
    (5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5),
    (5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5),
    (5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5),
    (5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5),
    (5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5),
    (5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5),
    (5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5),
    (5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5),
)


def templates() -> np.ndarray:
    """The 10 digit templates (10, 12): whitened, shifted to start at 0, divided by 6."""
    x = np.asarray(_DIGITS, dtype=np.float64)
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    return (x - x[:, :1]) / 6.0


def resample(x: np.ndarray, n: int) -> np.ndarray:
    """Linear interpolation of x, seen on linspace(0, 1, len(x)), at linspace(0, 1, n)."""
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(x)), x)


def gaussian_smooth(x: np.ndarray, sigma: float = 2.0, truncate: float = 4.0) -> np.ndarray:
    """1-D Gaussian filter, edges mirror-reflected (d c b a | a b c d), as scipy.ndimage's
    ``gaussian_filter`` with mode "reflect": weights exp(-t^2 / (2 sigma^2)), |t| <= r,
    r = int(truncate sigma + 0.5), normalised to sum 1."""
    r = int(truncate * sigma + 0.5)
    t = np.arange(-r, r + 1, dtype=np.float64)
    w = np.exp(-0.5 * (t / sigma) ** 2)
    w /= w.sum()
    padded = np.pad(x, r, mode="symmetric")
    return np.convolve(padded, w, mode="valid")  # w is symmetric: convolution = correlation


def transform(x: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """One random sample (40,) of a template x (12,): steps 1-7 of the module docstring."""
    low, high = PADDING
    p = low + int(rng.rand() * (high - low + 1))
    z = resample(np.concatenate([x + 1e-8, np.zeros(p)]), TEMPLATE_LEN + high)
    z = z * (1 + SCALE_COEFF * (rng.rand() - 0.5))
    k = rng.choice(MAX_TRANSLATION)
    z = np.roll(z, k)
    zero = z == 0
    z = np.where(zero, gaussian_smooth(CORR_NOISE_SCALE * rng.randn(len(z))), z)
    z = z + IID_NOISE_SCALE * rng.randn(len(z))
    z = z - SHEAR_SCALE * (rng.rand() - 0.5) * np.linspace(-0.5, 0.5, len(z))
    return resample(z, FINAL_SEQ_LENGTH)


def generate(num_samples: int = 5000, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """The whole standardised set before the split: x (N, 40) float64, y (N,) int64."""
    rng = np.random.RandomState(seed)
    tpl = templates()
    per_class = num_samples // len(tpl)
    xs = [transform(tpl[d], rng) for d in range(len(tpl)) for _ in range(per_class)]
    ys = np.repeat(np.arange(len(tpl)), per_class)
    order = rng.permutation(len(ys))
    x, y = np.stack(xs)[order], ys[order]
    return (x - x.mean()) / x.std(), y.astype(np.int64)


@register_dataset("mnist1d")
def mnist1d(
    root: str | Path | None = None,
    split: str = "train",
    download: bool = False,
    num_samples: int = 5000,
    train_split: float = 0.8,
    seed: int = 42,
    cache: bool = True,
) -> TensorData:
    """MNIST-1D ``split`` as float32 (N, 1, 40), labels 0-9; ``root``/``download`` are unused
    (the data is generated), the generated arrays are cached in the cache folder."""
    check_split("mnist1d", split, ("train", "test"))
    if num_samples < 10 or not 0 < train_split < 1:
        raise DataError(
            f"mnist1d: need num_samples >= 10 and 0 < train_split < 1, got {num_samples}, "
            f"{train_split}"
        )

    def build() -> dict[str, torch.Tensor]:
        x, y = generate(num_samples, seed)
        return {"x": torch.from_numpy(x.astype(np.float32)), "y": torch.from_numpy(y)}

    t = cached_tensors("mnist1d", f"n{num_samples}-seed{seed}-v1", build, use_cache=cache)
    cut = int(len(t["y"]) * train_split)
    sl = slice(0, cut) if split == "train" else slice(cut, None)
    x = t["x"][sl].unsqueeze(1).contiguous()
    return TensorData(x, t["y"][sl].clone(), 10, (), (), {}, "mnist1d")
