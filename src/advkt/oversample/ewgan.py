"""EWGAN: entropy-based Wasserstein GAN oversampling, as an imbalanced-learn sampler.

Ren, Liu, Liu, "EWGAN: Entropy-based Wasserstein GAN for imbalanced learning", AAAI 2019
(student abstract).

**Paper.** Each class c gets an entropy-weighted label vector l_c that characterises the
imbalance; each sample x is concatenated with l_c and a WGAN learns the joint; afterwards the
minority classes' label vectors are concatenated with noise and fed to the generator to produce
new minority samples.

**Ours** (where the paper was not at hand). With p_c = n_c / N and s_c = h_c / sum_k h_k,
h_c = -p_c log p_c, the label vector is l_c = w_c onehot(c) with w_c = s_c (``"share"``) or
1 - s_c (``"complement"``); ``"onehot"`` (w_c = 1) is the ablation. A conditional WGAN-GP
(critic f, generator G)

    L_f = E[f(G(z, l_c), l_c)] - E[f(x, l_c)] + lambda E[(||grad_xh f(xh, l_c)||_2 - 1)^2]
    L_G = -E[f(G(z, l_c), l_c)],     z ~ N(0, I),  xh = e x + (1 - e) G(z, l_c),  e ~ U(0, 1)

with lambda = 10, 5 critic steps per generator step, Adam(lr, betas=(0.5, 0.9));
``penalty="clip"`` swaps the penalty for weight clipping (original WGAN). Two departures from
the spec's defaults, both switchable, made so that a few hundred generator steps (a CPU budget)
suffice: batches draw every class equally often (``balanced_batches=True``; False samples rows
as they are) and lr = 5e-4 (the spec's 1e-4 left the generated minority of a two-blob test
near the majority blob even after 1,000 steps). Numeric columns are
min-max scaled to [-1, 1] on the data given to ``fit_resample`` (the training fold) and scaled
back; nominal columns are one-hot encoded and decoded by arg-max. Each class named by
``sampling_strategy`` gets G(z, l_c) rows until it reaches its target count; new rows are
appended after the original ones, as imbalanced-learn's over-samplers do.

``filter="support"`` (**ours**, off by default: the paper keeps every generated row) answers the
diagnosis of ``benchmarks/results/ewgan-diagnosis/`` (generated rows off the minority's support,
many inside the majority's region): the generator draws ``pool`` times the rows a class needs,
each candidate is scored in the encoded space by the share of class c among its k = 5 nearest
real training rows, ties broken by the distance to its nearest real row of class c, and the
best-scored candidates are kept. ``filter="safe"`` (**ours**) scores the candidates the same way
but only rejects those in another class's region (a share of class c below one half): the kept
rows are the first survivors in the order drawn, a random sample of them, so the spread of the
generator's rows inside class c's region is kept (the support filter keeps the candidates
deepest inside it); if too few survive, the best-ranked of the others fill the count.

``stop="mmd"`` (**ours**, off by default; the issue's "early stopping on a two-sample
statistic"): a share of each oversampled class's rows is held out of the GAN's training, the
generator is scored every ``check_every`` steps by the MMD² (RBF kernel, median heuristic)
between 64 of its rows of the class and the held-out rows, and the weights of the best score
are kept; ``n_iter`` is then the longest it may train.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from advkt.nn.wgan import Critic, Generator, TrainLog, train_wgan
from advkt.oversample._tabular import TabularEncoder
from advkt.oversample.labels import WEIGHTINGS, label_vectors


def default_n_iter(n_samples: int) -> int:
    """Generator steps when ``n_iter=None``: n_samples // 2, clipped to [200, 600]."""
    return int(np.clip(n_samples // 2, 200, 600))


class EWGANOverSampler(BaseOverSampler):
    """Oversample minority classes with an entropy-weighted conditional WGAN.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As in imbalanced-learn (``"auto"``: every class but the majority up to the majority).
    random_state : int, RandomState or None
        Seeds network initialisation, batches and noise. Results are reproducible for a fixed
        seed on one device with ``max_time=None``.
    weighting : {"share", "complement", "onehot"}, default="share"
        Label-vector weight w_c (see module docstring); "onehot" is the ablation.
    penalty : {"gp", "clip"}, default="gp"
        Lipschitz constraint: gradient penalty (WGAN-GP) or weight clipping (WGAN).
    lambda_gp : float, default=10.0
    clip_value : float, default=0.01
        Used with ``penalty="clip"``.
    n_critic : int, default=5
    n_iter : int or None, default=None
        Generator steps; None: ``default_n_iter(n_samples)``.
    batch_size : int, default=128
    noise_dim : int, default=16
    hidden_dim : int, default=64
    lr : float, default=5e-4
        Adam learning rate, betas (0.5, 0.9) (spec: 1e-4).
    balanced_batches : bool, default=True
        Draw each class equally often into a batch (rows within a class uniformly); False draws
        rows uniformly, as the data are.
    categorical_features : array-like of int or bool, or None, default=None
        Nominal columns (indices or a boolean mask); any numeric codes, decoded to one of the
        codes seen in training.
    max_time : float or None, default=None
        Training budget in seconds; training stops early when it is spent.
    device : str, default="auto"
        "auto": CUDA when available, else CPU.
    n_threads : int or None, default=1
        torch CPU threads during fit (restored afterwards); None leaves torch's setting.
    verbose : bool, default=False
        Show a progress bar.
    filter : {"none", "support", "safe"}, default="none"
        "none" keeps every generated row (paper); "support" keeps the best of ``pool`` times as
        many candidates by their nearest real neighbours; "safe" keeps a random sample of those
        not inside another class's region (both ours; module docstring).
    pool : int, default=5
        Candidates drawn per row kept, with ``filter="support"`` or ``"safe"``.
    stop : {"none", "mmd"}, default="none"
        "none" trains ``n_iter`` steps (paper); "mmd" (ours) holds out ``stop_holdout`` of each
        oversampled class's rows, scores the generator every ``check_every`` steps by the MMD²
        between its rows of that class and the held-out ones, and keeps its best weights.
    stop_holdout : float, default=0.25
    check_every : int, default=25

    Attributes
    ----------
    sampling_strategy_ : dict
        Class -> number of samples to generate.
    classes_ : ndarray (K,)
    label_vectors_ : ndarray (K, K)
        Row c is l_c = w_c onehot(c).
    encoder_ : TabularEncoder
    generator_ : Generator (on the CPU)
    n_iter_ : int
        Generator steps actually run.
    best_iteration_ : int or None
        With ``stop="mmd"``: the step whose weights were kept.
    wasserstein_ : ndarray
        Critic estimate E f(x) - E f(G(z)) per generator step.
    fit_time_ : float
        Seconds spent training.
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "weighting": [StrOptions(set(WEIGHTINGS))],
        "penalty": [StrOptions({"gp", "clip"})],
        "lambda_gp": [Interval(numbers.Real, 0, None, closed="left")],
        "clip_value": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_critic": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "noise_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "balanced_batches": ["boolean"],
        "categorical_features": ["array-like", None],
        "max_time": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "device": [str],
        "n_threads": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "verbose": ["boolean"],
        "filter": [StrOptions({"none", "support", "safe"})],
        "pool": [Interval(numbers.Integral, 1, None, closed="left")],
        "stop": [StrOptions({"none", "mmd"})],
        "stop_holdout": [Interval(numbers.Real, 0, 1, closed="neither")],
        "check_every": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        weighting: str = "share",
        penalty: str = "gp",
        lambda_gp: float = 10.0,
        clip_value: float = 0.01,
        n_critic: int = 5,
        n_iter: int | None = None,
        batch_size: int = 128,
        noise_dim: int = 16,
        hidden_dim: int = 64,
        lr: float = 5e-4,
        balanced_batches: bool = True,
        categorical_features: Sequence[int] | Sequence[bool] | None = None,
        max_time: float | None = None,
        device: str = "auto",
        n_threads: int | None = 1,
        verbose: bool = False,
        filter: str = "none",
        pool: int = 5,
        stop: str = "none",
        stop_holdout: float = 0.25,
        check_every: int = 25,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.weighting = weighting
        self.penalty = penalty
        self.lambda_gp = lambda_gp
        self.clip_value = clip_value
        self.n_critic = n_critic
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.noise_dim = noise_dim
        self.hidden_dim = hidden_dim
        self.lr = lr
        self.balanced_batches = balanced_batches
        self.categorical_features = categorical_features
        self.max_time = max_time
        self.device = device
        self.n_threads = n_threads
        self.verbose = verbose
        self.filter = filter
        self.pool = pool
        self.stop = stop
        self.stop_holdout = stop_holdout
        self.check_every = check_every

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False  # the GAN works on dense rows
        tags.non_deterministic = False
        return tags

    def _check_X_y(self, X, y, accept_sparse=None):
        # dense only: a sparse X gets sklearn's "dense data is required" TypeError. A DataFrame
        # of pandas sparse columns is dense data stored compactly: it is densified here, and
        # imbalanced-learn gives the output the input's column dtypes back.
        if hasattr(X, "sparse"):  # the accessor exists only when every column is sparse
            X = X.sparse.to_dense()
        return super()._check_X_y(X, y, accept_sparse=False)

    def _nominal_columns(self, n_features: int) -> list[int]:
        cf = self.categorical_features
        if cf is None:
            return []
        arr = np.asarray(cf)
        if arr.size == 0:
            return []
        if arr.dtype == bool:
            if arr.shape != (n_features,):
                raise ValueError(
                    f"categorical_features as a boolean mask needs {n_features} entries "
                    f"(one per column of X), got {arr.shape[0]}"
                )
            return [int(j) for j in np.flatnonzero(arr)]
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"categorical_features must be column indices or a boolean mask, got {cf!r}"
            )
        bad = [int(j) for j in arr if not 0 <= j < n_features]
        if bad:
            raise ValueError(
                f"categorical_features {bad} out of range for X with {n_features} columns"
            )
        return sorted({int(j) for j in arr})

    def _device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            return torch.device(self.device)
        except RuntimeError as e:
            raise ValueError(f"device {self.device!r} is not a torch device: {e}") from None

    def _fit_resample(self, X, y):
        classes, y_idx, counts = np.unique(y, return_inverse=True, return_counts=True)
        for cls, n_new in self.sampling_strategy_.items():
            n_c = int(counts[np.searchsorted(classes, cls)])
            if n_new > 0 and n_c < 2:
                raise ValueError(
                    f"EWGANOverSampler needs at least 2 samples of each class it oversamples; "
                    f"class {cls} has {n_c}. Remove that class or leave it out of "
                    "sampling_strategy."
                )
        self.classes_ = classes
        if not any(n > 0 for n in self.sampling_strategy_.values()):
            return X.copy(), y.copy()

        nominal = self._nominal_columns(X.shape[1])
        encoder = TabularEncoder.fit(X.astype(np.float64), nominal)
        labels = label_vectors(counts, self.weighting).astype(np.float32)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        dev = self._device()
        n_iter = self.n_iter if self.n_iter is not None else default_n_iter(X.shape[0])

        old_threads = torch.get_num_threads()
        if self.n_threads is not None:
            torch.set_num_threads(self.n_threads)
        try:
            with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
                torch.manual_seed(seed)
                generator, log = self._train(encoder, X, y_idx, labels, n_iter, dev)
                X_new, y_new = self._generate(generator, encoder, classes, labels, dev, X, y)
        finally:
            torch.set_num_threads(old_threads)

        self.label_vectors_ = labels
        self.encoder_ = encoder
        self.generator_ = generator.cpu().eval()
        self.n_iter_ = log.iterations
        self.best_iteration_ = log.best_iteration
        self.wasserstein_ = np.asarray(log.wasserstein)
        self.fit_time_ = log.seconds
        self.stopped_by_time_ = log.stopped_by_time
        X_res = np.vstack([X, X_new.astype(X.dtype)])
        y_res = np.concatenate([y, y_new.astype(y.dtype)])
        return X_res, y_res

    def _train(
        self,
        encoder: TabularEncoder,
        X: np.ndarray,
        y_idx: np.ndarray,
        labels: np.ndarray,
        n_iter: int,
        dev: torch.device,
    ) -> tuple[Generator, TrainLog]:
        data = torch.as_tensor(encoder.transform(X.astype(np.float64)), device=dev)
        lab = torch.as_tensor(labels[y_idx], device=dev)
        check, full = None, data  # every row encoded: the held-out ones are scored against
        if self.stop == "mmd":
            keep, held = self._holdout(y_idx)
            data, lab, y_idx = data[keep], lab[keep], y_idx[keep]
        row_weights = None
        if self.balanced_batches:
            counts = np.bincount(y_idx, minlength=labels.shape[0])
            row_weights = torch.as_tensor(1.0 / counts[y_idx], dtype=torch.float32, device=dev)
        k = labels.shape[0]
        generator = Generator(
            self.noise_dim,
            k,
            self.hidden_dim,
            len(encoder.numeric),
            encoder.blocks,
            encoder.width,
        ).to(dev)
        critic = Critic(encoder.width, k, self.hidden_dim).to(dev)
        if self.stop == "mmd":
            check = self._mmd_check(generator, full, held, labels, dev)
        log = train_wgan(
            generator,
            critic,
            data,
            lab,
            noise_dim=self.noise_dim,
            n_iter=n_iter,
            n_critic=self.n_critic,
            batch_size=self.batch_size,
            lr=self.lr,
            betas=(0.5, 0.9),
            penalty=self.penalty,
            lambda_gp=self.lambda_gp,
            clip_value=self.clip_value,
            max_time=self.max_time,
            progress=self.verbose,
            row_weights=row_weights,
            check=check,
            check_every=self.check_every,
        )
        return generator, log

    def _holdout(self, y_idx: np.ndarray) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """(rows the GAN trains on, {class index: held-out rows}) for ``stop="mmd"``: a seeded
        ``stop_holdout`` share (at least one row, at most all but two) of each oversampled
        class."""
        rng = np.random.default_rng(int(torch.randint(2**31 - 1, ())))
        out, held = np.ones(len(y_idx), dtype=bool), {}
        for cls, n_new in self.sampling_strategy_.items():
            c = int(np.searchsorted(self.classes_, cls))
            rows = np.flatnonzero(y_idx == c)
            n = min(max(1, round(self.stop_holdout * len(rows))), len(rows) - 2)
            if n_new > 0 and n >= 1:
                held[c] = rng.choice(rows, n, replace=False)
                out[held[c]] = False
        return np.flatnonzero(out), held

    def _mmd_check(self, generator, full, held, labels, dev):
        """The score ``train_wgan`` keeps the best of: the mean over held-out classes of the
        MMD² between 64 generated rows of the class and its held-out rows."""

        def score() -> float:
            total = 0.0
            for c, rows in held.items():
                lab = torch.as_tensor(labels[c], device=dev).expand(64, -1)
                fake = generator(torch.randn(64, self.noise_dim, device=dev), lab)
                total += mmd2(fake, full[torch.as_tensor(rows, device=dev)])
            return total / max(len(held), 1)

        return score

    @torch.no_grad()
    def _generate(
        self,
        generator: Generator,
        encoder: TabularEncoder,
        classes: np.ndarray,
        labels: np.ndarray,
        dev: torch.device,
        X: np.ndarray,
        y: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        generator.eval()
        xs, ys = [np.empty((0, encoder.n_features))], [np.empty(0, dtype=classes.dtype)]
        filtered = self.filter != "none"
        real = encoder.transform(X.astype(np.float64)) if filtered else None
        draws = self.pool if filtered else 1
        for cls, n_new in self.sampling_strategy_.items():
            if n_new <= 0:
                continue
            c = int(np.searchsorted(classes, cls))
            lab = torch.as_tensor(labels[c], device=dev).expand(n_new * draws, -1)
            z = torch.randn(n_new * draws, self.noise_dim, device=dev)
            out = generator(z, lab).cpu().numpy()
            if real is not None:
                pick = support_ranking if self.filter == "support" else safe_selection
                out = out[pick(out, real, y == cls)[:n_new]]
            xs.append(encoder.inverse(out.astype(np.float64)))
            ys.append(np.full(n_new, cls, dtype=classes.dtype))
        return np.vstack(xs), np.concatenate(ys)


def mmd2(a: torch.Tensor, b: torch.Tensor) -> float:
    """The (biased) squared maximum mean discrepancy between row sets a and b, RBF kernel with
    the median heuristic: exp(-d² / median(d²)) over the pooled rows' pairwise distances."""
    both = torch.cat([a, b]).float()
    d2 = torch.cdist(both, both).pow(2)
    k = torch.exp(-d2 / d2[d2 > 0].median().clamp_min(1e-12))
    n = len(a)
    return float(k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean())


def support_ranking(
    candidates: np.ndarray, real: np.ndarray, own: np.ndarray, k: int = 5, chunk: int = 2048
) -> np.ndarray:
    """Indices of ``candidates`` (M, D), best first: by the share of ``own`` rows (a boolean mask
    of ``real``, (N, D)) among each candidate's k nearest real rows, then by the distance to its
    nearest own row (Euclidean, in the encoded space). Distances ``chunk`` candidates at a time."""
    share, d_own = neighbour_scores(candidates, real, own, k, chunk)
    return np.lexsort((d_own, -share))  # a higher share first, then a smaller distance


def safe_selection(
    candidates: np.ndarray, real: np.ndarray, own: np.ndarray, k: int = 5, chunk: int = 2048
) -> np.ndarray:
    """Indices of ``candidates``: first, in the order given, those whose share of ``own`` rows
    among their k nearest real rows is at least one half; then the others as
    :func:`support_ranking` orders them."""
    share, d_own = neighbour_scores(candidates, real, own, k, chunk)
    safe = np.flatnonzero(share >= 0.5)
    rest = np.flatnonzero(share < 0.5)
    return np.concatenate([safe, rest[np.lexsort((d_own[rest], -share[rest]))]])


def neighbour_scores(
    candidates: np.ndarray, real: np.ndarray, own: np.ndarray, k: int = 5, chunk: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's share of ``own`` rows among its k nearest ``real`` rows, and its distance
    to the nearest own row."""
    ref = torch.as_tensor(real, dtype=torch.float32)
    mask = torch.as_tensor(own, dtype=torch.bool)
    k = min(k, ref.shape[0])
    shares, dists = [], []
    for part in torch.as_tensor(candidates, dtype=torch.float32).split(chunk):
        d = torch.cdist(part, ref)  # (chunk, N)
        near = d.topk(k, dim=1, largest=False).indices
        shares.append(mask[near].float().mean(1))
        dists.append(d[:, mask].min(1).values)
    return torch.cat(shares).numpy(), torch.cat(dists).numpy()
