"""CTGAN (Xu et al. 2019, the ``ctgan`` package) as an oversampling peer for the benchmark.

The usual way CTGAN oversamples: one CTGAN per minority class, fitted on that class's training
rows (nominal columns declared discrete), then sampled until the class reaches the count that
``sampling_strategy="auto"`` asks for (the majority's). CTGAN's own conditional sampling on a
label column was not used: its condition is a training hint, not a guarantee that the drawn rows
carry the label.

Budget: ``n_iter`` generator steps (None: EWGAN's ``default_n_iter(n_samples)``, so both GANs get
the same number of generator updates on a training fold); CTGAN runs max(n // batch, 1) steps an
epoch, so the epochs are set to cover ``n_iter`` steps. CTGAN's other settings are the package's
defaults. Needs the ``ctgan`` extra: ``pip install 'advkt[ctgan]'``.
"""

from __future__ import annotations

import numpy as np

from advkt.oversample.ewgan import default_n_iter


class CTGANOverSampler:
    """``fit_resample(X, y)`` like imbalanced-learn's samplers (binary or multi-class ``y``).

    ``categorical_features``: indices of nominal columns (numeric codes, returned as codes).
    """

    def __init__(self, categorical_features=None, n_iter=None, batch_size=500, random_state=None):
        self.categorical_features = categorical_features
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.random_state = random_state

    def fit_resample(self, X, y):
        try:
            import pandas as pd
            from ctgan import CTGAN
        except ImportError as e:  # pragma: no cover - the extra is part of advkt[all]
            msg = "the CTGAN peer needs the ctgan extra: pip install 'advkt[ctgan]'"
            raise ImportError(msg) from e
        X, y = np.asarray(X, dtype=float), np.asarray(y)
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise ValueError(f"y must hold at least 2 classes, got {len(classes)}")
        target = counts.max()
        steps = self.n_iter or default_n_iter(len(y))
        cols = [f"x{j}" for j in range(X.shape[1])]
        discrete = [cols[j] for j in (self.categorical_features or [])]
        new_X, new_y = [X], [y]
        for c, n in zip(classes, counts):
            if n == target:
                continue
            rows = pd.DataFrame(X[y == c], columns=cols)
            for col in discrete:
                rows[col] = rows[col].round().astype(int).astype(str)
            batch = self.batch_size - self.batch_size % 10  # CTGAN's pac = 10 divides the batch
            epochs = max(1, int(np.ceil(steps / max(n // batch, 1))))
            model = CTGAN(epochs=epochs, batch_size=batch, verbose=False, enable_gpu=False)
            if self.random_state is not None:
                model.set_random_state(int(self.random_state))
            model.fit(rows, discrete_columns=discrete)
            fake = model.sample(int(target - n))
            for col in discrete:
                fake[col] = fake[col].astype(float)
            new_X.append(fake[cols].to_numpy(dtype=float))
            new_y.append(np.full(target - n, c, dtype=y.dtype))
        return np.concatenate(new_X), np.concatenate(new_y)
