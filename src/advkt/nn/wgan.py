"""Conditional WGAN (gradient penalty or weight clipping) on rows of vectors: EWGAN's encoded
tabular rows (:mod:`advkt.oversample.ewgan`), f-CLSWGAN's and AFRNet's visual features
(:mod:`advkt.zsl`).

Critic f and generator G are conditioned on a vector l per row (EWGAN's label vector, a class's
semantics):

    critic:    L_f = E[f(G(z, l), l)] - E[f(x, l)] + lambda * E[(||grad_xh f(xh, l)||_2 - 1)^2],
               xh = e x + (1 - e) G(z, l), e ~ U(0, 1)           (Gulrajani et al., 2017)
    generator: L_G = -E[f(G(z, l), l)] + extra(G(z, l), rows),  z ~ N(0, I)

``extra`` (default none) adds a term of the caller's to the generator's loss, given the drawn
rows' indices (f-CLSWGAN's classification loss). With ``penalty="clip"`` the penalty term is
dropped and every critic weight is clipped to [-c, c] after each step (Arjovsky et al., 2017).
``n_critic`` critic steps per generator step.
:class:`Generator` and :class:`Critic` are EWGAN's MLPs (generator output: tanh on the numeric
part, scaled to [-1, 1], softmax on each one-hot block); any modules with the same call
signatures, ``G(z, l)`` and ``f(x, l)``, train the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from advkt.errors import DivergenceError
from advkt.losses.adversarial import interpolates, unit_gradient_penalty


class Generator(nn.Module):
    def __init__(
        self,
        noise_dim: int,
        label_dim: int,
        hidden: int,
        n_numeric: int,
        blocks: list[tuple[int, int]],
        out_dim: int,
    ) -> None:
        super().__init__()
        self.n_numeric = n_numeric
        self.blocks = list(blocks)
        self.net = nn.Sequential(
            nn.Linear(noise_dim + label_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.net(torch.cat([z, labels], dim=1))
        parts = [torch.tanh(h[:, : self.n_numeric])]
        parts += [torch.softmax(h[:, a:b], dim=1) for a, b in self.blocks]
        return torch.cat(parts, dim=1)


class Critic(nn.Module):
    def __init__(self, in_dim: int, label_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim + label_dim, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, labels], dim=1)).squeeze(1)


def _critic_terms_gp(
    critic: Critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(E f(x) - E f(G(z)), gradient penalty) from one critic pass over real, fake, interpolates.

    One batched pass instead of three: on a CPU the per-call overhead of a small MLP dominates.
    """
    n = real.shape[0]
    xh = interpolates(real, fake)
    out = critic(torch.cat([real, fake, xh]), torch.cat([labels, labels, labels]))
    (grad,) = torch.autograd.grad(out[2 * n :].sum(), xh, create_graph=True)
    gp = unit_gradient_penalty(grad)
    return out[:n].mean() - out[n : 2 * n].mean(), gp


@dataclass
class TrainLog:
    wasserstein: list[float] = field(default_factory=list)  # E f(x) - E f(G(z)), per G step
    generator: list[float] = field(default_factory=list)
    iterations: int = 0
    seconds: float = 0.0
    stopped_by_time: bool = False
    checks: list[tuple[int, float]] = field(default_factory=list)  # (iteration, score)
    best_iteration: int | None = None  # the weights kept, with a check


def train_wgan(
    generator: nn.Module,
    critic: nn.Module,
    data: torch.Tensor,
    labels: torch.Tensor,
    *,
    noise_dim: int,
    n_iter: int,
    n_critic: int,
    batch_size: int,
    lr: float,
    betas: tuple[float, float],
    penalty: str,
    lambda_gp: float,
    clip_value: float,
    max_time: float | None,
    progress: bool,
    row_weights: torch.Tensor | None = None,
    extra: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    name: str = "EWGAN",
    check: Callable[[], float] | None = None,
    check_every: int = 25,
) -> TrainLog:
    """Train in place; ``data`` (N, D) encoded rows and ``labels`` (N, K) their label vectors.

    Batches draw rows uniformly, or in proportion to ``row_weights`` (N,) when given.
    Uses the global torch RNG (the caller seeds it). Stops after ``n_iter`` generator steps or
    when ``max_time`` seconds have passed, whichever is first. With ``check`` (a score of the
    generator as it is, lower is better, e.g. a two-sample statistic), the generator is scored
    every ``check_every`` steps and at the end, and left with the weights of its best score
    (``log.best_iteration``, ``log.checks``).
    """
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas, fused=True)
    opt_c = torch.optim.Adam(critic.parameters(), lr=lr, betas=betas, fused=True)
    n, dev = data.shape[0], data.device
    bs = min(batch_size, n)
    log = TrainLog()

    def draw(k: int) -> torch.Tensor:
        if row_weights is None:
            return torch.randint(0, n, (k,), device=dev)
        return torch.multinomial(row_weights, k, replacement=True)

    start = time.perf_counter()
    best: tuple[float, dict] | None = None

    def checkpoint(iteration: int) -> None:
        nonlocal best
        generator.eval()
        with torch.no_grad():
            score = float(check())
        generator.train()
        log.checks.append((iteration, score))
        if best is None or score < best[0]:
            best = (score, {k: v.detach().clone() for k, v in generator.state_dict().items()})
            log.best_iteration = iteration

    bar = tqdm(total=n_iter, desc=name, disable=not progress, leave=False)
    for it in range(n_iter):
        for _ in range(n_critic):
            idx = draw(bs)
            real, lab = data[idx], labels[idx]
            with torch.no_grad():
                fake = generator(torch.randn(bs, noise_dim, device=dev), lab)
            if penalty == "gp":
                w, gp = _critic_terms_gp(critic, real, fake, lab)
                loss_c = lambda_gp * gp - w
            else:
                out = critic(torch.cat([real, fake]), torch.cat([lab, lab]))
                w = out[:bs].mean() - out[bs:].mean()
                loss_c = -w
            opt_c.zero_grad(set_to_none=True)
            loss_c.backward()
            opt_c.step()
            if penalty == "clip":
                with torch.no_grad():
                    for p in critic.parameters():
                        p.clamp_(-clip_value, clip_value)
        idx = draw(bs)
        lab = labels[idx]
        fake = generator(torch.randn(bs, noise_dim, device=dev), lab)
        loss_g = -critic(fake, lab).mean()
        if extra is not None:
            loss_g = loss_g + extra(fake, idx)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        w_val, g_val = float(w.detach()), float(loss_g.detach())
        if not (torch.isfinite(loss_c) and torch.isfinite(loss_g)):
            which = "critic" if not torch.isfinite(loss_c) else "generator"
            raise DivergenceError(
                f"{name} {which} loss became non-finite at iteration {it + 1}; "
                "lower lr or use penalty='gp'"
            )
        log.wasserstein.append(w_val)
        log.generator.append(g_val)
        log.iterations = it + 1
        bar.update(1)
        if check is not None and (it + 1) % check_every == 0:
            checkpoint(it + 1)
        if max_time is not None and time.perf_counter() - start > max_time:
            log.stopped_by_time = True
            break
    bar.close()
    if check is not None:
        if not log.checks or log.checks[-1][0] != log.iterations:
            checkpoint(log.iterations)
        generator.load_state_dict(best[1])
    log.seconds = time.perf_counter() - start
    return log
