r"""What the feature-generating zero-shot methods share (f-CLSWGAN, :mod:`advkt.zsl.fclswgan`;
AFRNet, :mod:`advkt.zsl.afrnet`): the conditional critic, the classification term, the synthesis
of unseen-class features and the final softmax classifiers.

A generator G(z, a) of visual features conditioned on a class's semantics a is trained against a
conditional WGAN-GP critic f(x, a) (:func:`advkt.nn.wgan.train_wgan`) with f-CLSWGAN's
classification term on the generated features,

.. math:: L_G = -\mathbb{E}[f(G(z, a_y), a_y)] + \beta\,\mathrm{CE}(C(G(z, a_y)), y),

C a softmax classifier pre-trained on the real seen features (and frozen). Then ``n_synth``
features a class are drawn for each unseen class, and two softmax classifiers are trained: over
the unseen classes on the synthetic features alone (ZSL), and over all classes on the real seen
training features plus the synthetic unseen ones (GZSL).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from advkt.nn.wgan import train_wgan
from advkt.zsl.task import ZSLTask


class FeatureGenerator(nn.Module):
    """G(z, a) = φ(W₂ LeakyReLU₀.₂(W₁ [z; a])): φ = ReLU (``relu=True``, CNN features are
    non-negative) or the identity."""

    def __init__(self, noise_dim: int, sem_dim: int, hidden: int, out_dim: int, relu: bool = True):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(noise_dim + sem_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out_dim)
        )
        self.relu = relu

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        h = self.net(torch.cat([z, a], dim=1))
        return F.relu(h) if self.relu else h


class FeatureCritic(nn.Module):
    """f(x, a) = W₂ LeakyReLU₀.₂(W₁ [x; a]) (f-CLSWGAN's critic)."""

    def __init__(self, feat_dim: int, sem_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(feat_dim + sem_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, a], dim=1)).squeeze(1)


def train_softmax(
    x: torch.Tensor, y: torch.Tensor, n_classes: int, epochs: int = 20, lr: float = 1e-3,
    batch_size: int = 256, min_steps: int = 1000,
) -> nn.Linear:  # fmt: skip
    """A linear softmax classifier (N, D) → K, Adam(lr, betas 0.5/0.999), the last step kept:
    ``epochs`` passes over the rows, and at least ``min_steps`` steps (a few hundred synthetic
    rows would otherwise get a handful of steps)."""
    clf = nn.Linear(x.shape[1], n_classes)
    opt = torch.optim.Adam(clf.parameters(), lr=lr, betas=(0.5, 0.999))
    per_epoch = -(-len(y) // batch_size)
    for _ in range(max(epochs, -(-min_steps // per_epoch))):
        for idx in torch.randperm(len(y)).split(batch_size):
            loss = F.cross_entropy(clf(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return clf.eval().requires_grad_(False)


class GenerativeZSL:
    """The shared fit / predict of a feature-generating method; a subclass builds its generator
    in :meth:`generator` (trained here unless it returns ``trainable=False``) and may change the
    features it works on in :meth:`prepare` (AFRNet's feature selection)."""

    name = "generative"

    def __init__(
        self, beta: float = 0.01, hidden: int = 1024, n_iter: int = 2000, n_critic: int = 5,
        batch_size: int = 64, lr: float = 1e-4, lambda_gp: float = 10.0,
        n_synth: int | None = None, clf_epochs: int = 20,
    ) -> None:  # fmt: skip
        if beta < 0 or hidden < 1 or n_iter < 1 or n_critic < 1:
            raise ValueError(f"{self.name}: needs beta >= 0, hidden, n_iter, n_critic >= 1")
        self.beta, self.hidden, self.n_iter, self.n_critic = beta, hidden, n_iter, n_critic
        self.batch_size, self.lr, self.lambda_gp = batch_size, lr, lambda_gp
        self.n_synth, self.clf_epochs = n_synth, clf_epochs

    # ------------------------------------------------------------------ hooks
    def prepare(self, task: ZSLTask) -> ZSLTask:
        return task

    def transform(self, x: np.ndarray) -> np.ndarray:
        return x

    def generator(self, task: ZSLTask, x: torch.Tensor, y: torch.Tensor):
        """(G, trainable) for the training features x (M, D) and their classes y (M,)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ fit
    def fit(self, task: ZSLTask, seed: int = 0) -> GenerativeZSL:
        torch.manual_seed(seed)
        task = self.prepare(task)
        tr, seen, unseen = task.trainval, task.seen_classes, task.unseen_classes
        x = torch.as_tensor(task.features[tr], dtype=torch.float32)
        y = torch.as_tensor(task.labels[tr])
        sem = torch.as_tensor(task.attributes, dtype=torch.float32)
        pos = torch.as_tensor(np.searchsorted(seen, task.labels[tr]))  # index among the seen
        g, trainable = self.generator(task, x, y)
        if trainable:
            clf = train_softmax(x, pos, len(seen), epochs=self.clf_epochs)

            def classification(fake: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
                return self.beta * F.cross_entropy(clf(fake), pos[idx])

            self.log_ = train_wgan(
                g, FeatureCritic(x.shape[1], sem.shape[1], self.hidden), x, sem[y],
                noise_dim=self.noise_dim(sem), n_iter=self.n_iter, n_critic=self.n_critic,
                batch_size=self.batch_size, lr=self.lr, betas=(0.5, 0.999), penalty="gp",
                lambda_gp=self.lambda_gp, clip_value=0.01, max_time=None, progress=False,
                extra=classification if self.beta > 0 else None, name=self.name,
            )  # fmt: skip
        g.eval()
        n = self.n_synth or int(round(len(tr) / len(seen)))  # as many as a seen class has
        with torch.no_grad():
            cls = torch.as_tensor(unseen).repeat_interleave(n)
            fake = g(torch.randn(len(cls), self.noise_dim(sem)), sem[cls])
        u_pos = torch.as_tensor(np.searchsorted(unseen, cls.numpy()))
        self.zsl_clf_ = train_softmax(fake, u_pos, len(unseen), epochs=self.clf_epochs)
        self.gzsl_clf_ = train_softmax(
            torch.cat([x, fake]), torch.cat([y, cls]), len(task.attributes), epochs=self.clf_epochs
        )
        self.unseen_ = unseen
        return self

    def noise_dim(self, sem: torch.Tensor) -> int:
        return sem.shape[1]  # f-CLSWGAN: the noise as wide as the semantics

    # ------------------------------------------------------------------ predict
    @torch.no_grad()
    def _scores(self, clf: nn.Linear, x: np.ndarray) -> np.ndarray:
        return clf(torch.as_tensor(self.transform(x), dtype=torch.float32)).numpy()

    def predict_zsl(self, x: np.ndarray) -> np.ndarray:
        return self.unseen_[self._scores(self.zsl_clf_, x).argmax(1)]

    def predict_gzsl(self, x: np.ndarray) -> np.ndarray:
        return self._scores(self.gzsl_clf_, x).argmax(1)
