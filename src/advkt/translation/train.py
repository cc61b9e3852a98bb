r"""Training image translators and distilling their generators (issue #19, ``gan_distill.md``).

Domains A and B as float images in [-1, 1], (N, C, H, W). Every loop here runs in epochs of
``len(A) // batch`` steps (A's images in a seeded random order, B's drawn at random, or B's
same rows for a paired task),
writes a checkpoint at the end of each epoch into ``run_dir`` (:mod:`advkt.engine.checkpoint`:
safetensors, written atomically) and continues from it when called again.

**CycleGAN** (Zhu et al. 2017; :func:`fit_cyclegan`; the teacher, and the students trained from
scratch): generators G: A → B, F: B → A, PatchGAN critics D_A, D_B, LSGAN, image pools of 50,

.. math::
    L_G = (D_B(G(a)) - 1)^2 + (D_A(F(b)) - 1)^2 + \lambda(|F(G(a)) - a| + |G(F(b)) - b|)
        + \tfrac{\lambda}{2}(|G(b) - b| + |F(a) - a|),\quad \lambda = 10,

D_B, D_A by :func:`advkt.translation.losses.lsgan_d` on real images against pooled fakes; Adam
2e-4, β = (0.5, 0.999), constant for the first half of the epochs and linearly to 0 over the
second (CycleGAN's schedule).

**pix2pix** (Isola et al. 2017; :func:`fit_pix2pix`; paired tasks such as colourisation): a
U-Net G: x → y and a conditional PatchGAN D(x, ·) on the input beside the image,
:math:`L_G = \mathrm{BCE}(D(x, G(x)), 1) + 100\,|G(x) - y|`,
:math:`L_D = \tfrac12[\mathrm{BCE}(D(x, y), 1) + \mathrm{BCE}(D(x, G(x)), 0)]`, the same
optimiser and schedule.

**Distilling G** (:func:`fit_student`) into a student G_S: A → B of a smaller width, the teacher's
G = G_T frozen; every method with Adam 2e-4 (0.5, 0.999) and the same schedule and epochs. With
a pix2pix teacher the pairs stay together and every critic below sees cond(a, image) = [a, image]
instead of the image alone:

- ``pixel`` (Aguinaldo et al. 2019): :math:`L = |G_S(a) - G_T(a)|` (L1, **ours**; their loss
  between outputs was not at hand);
- ``feature`` (as GAN Compression, Li et al. 2020, without its search): the pixel term plus
  :math:`w_{feat}\sum_l \lVert P_l(f^S_l) - f^T_l\rVert^2` (means over the entries) over the
  generators' three tapped features
  (:class:`~advkt.translation.networks.ResnetGenerator`), P_l learned 1x1 convolutions;
- ``ours`` (Chen et al. 2020; **third-party** weights, ``gan_distill.md``): a student critic D_S
  (a PatchGAN of the student's width) for which real images *and* the teacher's outputs are
  real and the student's are fake, and

  .. math::
      L_{G_S} = w_{gan}(D_S(G_S(a)) - 1)^2 + |G_S(a) - G_T(a)|
          + w_{feat} \sum_l |\phi_l(G_S(a)) - \phi_l(G_T(a))|
          + w_{gram} \sum_l \lVert \mathrm{Gram}(\phi_l(G_S(a))) - \mathrm{Gram}(\phi_l(G_T(a)))
            \rVert^2,

  :math:`L_{D_S} = \tfrac12[\overline{(D_S(r) - 1)^2} + \overline{D_S(G_S(a))^2}]`, the first
  mean over r in {b, G_T(a)} (:func:`~advkt.translation.losses.lsgan_d`), φ_l the outputs of the
  frozen teacher critic D_B's first three blocks (**ours**: a network the library trains itself, not
  a downloaded VGG), Gram(f) = f fᵀ / (C H W); w_gan = 1e-3, w_feat = 1, w_gram = 1e5
  (third-party). ``teacher_as_real=False`` (switch) shows D_S only real images as real.
  ``w_tri > 0`` (off: the triplet term the paper's text is recalled to have, unverified; its
  form is **ours**, :func:`triplet`) adds a triplet term on D_S's last tapped features: the
  student's output pulled toward the teacher's for the same input, pushed from its own output
  for another input of the batch, margin ``margin``.
- ``scratch``: no teacher at all: a CycleGAN pair (or pix2pix) of the student's width.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from advkt.engine import checkpoint
from advkt.engine.run import pick_device
from advkt.translation.losses import ImagePool, gan_d, gan_g, l1, lsgan_d, lsgan_g
from advkt.translation.networks import (
    PatchDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    at_width,
)

DISTILLERS = ("pixel", "feature", "ours")
METHODS = ("scratch", *DISTILLERS)


@dataclass
class Schedule:
    epochs: int = 20
    batch: int = 32
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    def factor(self, epoch: int) -> float:
        """CycleGAN's learning-rate factor: 1 for the first half, then linearly to 0."""
        half = self.epochs // 2
        return 1.0 if epoch < half else 1.0 - (epoch - half) / max(1, self.epochs - half)


def _spec(g: nn.Module) -> dict:
    return {"name": type(g).__name__, **g.config}


class Siamese(nn.Module):
    """SPGAN's SiaNet (Deng et al. 2018): four stride-2 conv blocks and a linear map to a
    128-d embedding of an image (the paper's layer sizes were not at hand: ours)."""

    def __init__(self, channels: int, width: int = 16) -> None:
        super().__init__()
        layers, c = [], channels
        for n in (width, 2 * width, 4 * width, 8 * width):
            layers += [nn.Conv2d(c, n, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            c = n
        self.net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 128))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def contrastive(e1: torch.Tensor, e2: torch.Tensor, positive: bool, margin: float) -> torch.Tensor:
    """SPGAN's contrastive loss of embedding pairs: d² for a positive pair, max(0, m − d)²
    for a negative one, d the Euclidean distance, averaged over the batch."""
    d = (e1.float() - e2.float()).pow(2).sum(1).clamp_min(1e-12).sqrt()
    return (d.pow(2) if positive else (margin - d).clamp_min(0).pow(2)).mean()


class CycleGAN(nn.Module):
    """G: A → B (``student``, the generator a run is judged by), F: B → A, D_A, D_B, and with
    SPGAN's similarity preservation its SiaNet; the critic a distiller reads features from is
    D_B, which judges G's outputs alone."""

    conditional = False

    def __init__(
        self, channels: int = 1, width: int = 32, blocks: int = 6, siamese: bool = False
    ) -> None:
        super().__init__()
        self.student = ResnetGenerator(channels, channels, width, blocks)
        self.g_ba = ResnetGenerator(channels, channels, width, blocks)
        self.d_a = PatchDiscriminator(channels, width)
        self.d_b = PatchDiscriminator(channels, width)
        if siamese:
            self.siamese = Siamese(channels)
        self.spec = _spec(self.student)

    @property
    def critic(self) -> PatchDiscriminator:
        return self.d_b


class Pix2Pix(nn.Module):
    """G: x → y (``student``, a U-Net) and its conditional critic D(x, y) (``critic``)."""

    conditional = True

    def __init__(
        self, in_channels: int = 1, out_channels: int = 3, width: int = 32, depth: int = 5
    ) -> None:
        super().__init__()
        self.student = UnetGenerator(in_channels, out_channels, width, depth)
        self.d = PatchDiscriminator(in_channels + out_channels, width)
        self.spec = _spec(self.student)

    @property
    def critic(self) -> PatchDiscriminator:
        return self.d


class Distiller(nn.Module):
    """A student G_S (``student``: the teacher's kind of generator at ``width``) with what its
    method trains beside it: the 1x1 projections (``feature``) or the student critic D_S
    (``ours``, taking ``critic_in`` channels). The frozen teacher is held apart."""

    def __init__(self, method: str, teacher: nn.Module, width: int, critic_in: int) -> None:
        super().__init__()
        if method not in DISTILLERS:
            raise ValueError(f"unknown distiller {method!r}; valid: {', '.join(DISTILLERS)}")
        self.method = method
        self.student = at_width(teacher, width)
        self.spec = _spec(self.student)
        if method == "feature":
            self.proj = nn.ModuleList(
                nn.Conv2d(cs, ct, 1)
                for cs, ct in zip(self.student.tap_channels, teacher.tap_channels)
            )
        if method == "ours":
            self.d_s = PatchDiscriminator(critic_in, width)


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrices (N, C, C) of features (N, C, H, W), divided by C·H·W."""
    n, c = f.shape[:2]
    flat = f.reshape(n, c, -1).float()
    return flat @ flat.transpose(1, 2) / flat[0].numel()


def critic_features(d: PatchDiscriminator, x: torch.Tensor, blocks: int = 3) -> list[torch.Tensor]:
    """The outputs of a PatchGAN critic's first ``blocks`` LeakyReLU blocks."""
    feats = []
    for layer in d.net:
        x = layer(x)
        if isinstance(layer, nn.LeakyReLU):
            feats.append(x)
            if len(feats) == blocks:
                break
    return feats


def triplet(f_s: torch.Tensor, f_t: torch.Tensor, margin: float) -> torch.Tensor:
    """[‖f_s(i) − f_t(i)‖² − ‖f_s(i) − f_s(i + 1)‖² + margin]₊ averaged over the batch (features
    flattened, squared distances divided by their size): each student output pulled toward the
    teacher's output for the same input and pushed from its own output for the next input."""
    s, t = f_s.flatten(1).float(), f_t.flatten(1).float()
    pos = (s - t).pow(2).mean(1)
    neg = (s - s.roll(1, 0)).pow(2).mean(1)
    return (pos - neg + margin).clamp_min(0).mean()


def _adam(params, sched: Schedule) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=sched.lr, betas=sched.betas)


def _resume(model, opts, pools, run_dir) -> tuple[int, list[dict]]:
    """(first epoch to train, the log so far): the model, optimisers, image pools and random
    state restored from ``run_dir``'s last checkpoint, so that a resumed run is bit-exact."""
    if run_dir is None or not checkpoint.has_checkpoint(run_dir):
        return 0, []
    state, _ = checkpoint.load_resumable(model, run_dir)
    for name, opt in opts.items():
        opt.load_state_dict(state["optim"][name])
    for name, pool in pools.items():
        pool.images = list(state["pools"][name])
    torch.set_rng_state(state["rng"])
    return state["epoch"] + 1, state["log"]


def _batches(a: torch.Tensor, b: torch.Tensor, batch: int, paired: bool):
    """A's images in a random order; B's the same rows (paired) or drawn at random."""
    order = torch.randperm(len(a))
    for i in range(len(a) // batch):
        idx = order[i * batch : (i + 1) * batch]
        yield a[idx], b[idx] if paired else b[torch.randint(len(b), (batch,))]


@torch.no_grad()
def write_grid(path: Path, rows: list[torch.Tensor]) -> None:
    """A PNG of image rows (each (n, C, H, W) in [-1, 1], grey or colour), one row each, written
    atomically."""
    from PIL import Image

    strips = []
    for r in rows:
        r = ((r.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        r = r.expand(-1, 3, -1, -1) if r.shape[1] == 1 else r
        strips.append(torch.cat(list(r), 2))  # (3, H, n W)
    grid = torch.cat(strips, 1).permute(1, 2, 0).numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(grid).save(tmp, format="PNG")
    tmp.replace(path)


def _run(model, opts, run_dir, sched, step, a, b, quiet, pools=None, paired=False, grid=None):
    """Train ``step(xa, xb) -> {loss name: float}`` for the epochs left, a checkpoint after
    each; ``model.log`` gets the per-epoch mean losses and seconds. With a run folder, ``grid``
    (a function of the first 8 A images, on the model's device, returning image rows) gives the
    sample grid written after each epoch as ``samples/epoch<NNNN>.png``."""
    pools = pools or {}
    start, log = _resume(model, opts, pools, run_dir)
    dev = next(model.parameters()).device
    a, b = a.to(dev), b.to(dev)  # once: the images stay where the model is
    for epoch in range(start, sched.epochs):
        for opt in opts.values():
            for g in opt.param_groups:
                g["lr"] = sched.lr * sched.factor(epoch)
        t0, sums, n = time.perf_counter(), {}, 0
        model.train()
        for xa, xb in _batches(a, b, sched.batch, paired):
            for k, v in step(xa, xb).items():
                sums[k] = sums.get(k, 0.0) + v
            n += 1
        entry = {"epoch": epoch, "seconds": time.perf_counter() - t0,
                 **{k: v / max(n, 1) for k, v in sums.items()}}  # fmt: skip
        bad = [k for k, v in entry.items() if not math.isfinite(v)]
        if bad:
            raise FloatingPointError(
                f"translation: the {bad[0]} loss became {entry[bad[0]]} in epoch {epoch + 1}: "
                "the adversarial game diverged; lower the learning rate or the GAN weight"
            )
        log.append(entry)
        if not quiet:
            print(f"epoch {epoch + 1}/{sched.epochs} " + " ".join(
                f"{k} {v:.4f}" for k, v in entry.items() if k != "epoch"),
                file=sys.stderr, flush=True)  # fmt: skip
        if run_dir is not None:
            state = {"epoch": epoch, "log": log, "rng": torch.get_rng_state(),
                     "optim": {k: o.state_dict() for k, o in opts.items()},
                     "pools": {k: list(p.images) for k, p in pools.items()}}  # fmt: skip
            checkpoint.save(run_dir, f"epoch{epoch + 1:04d}", model, model.spec, state)
            if grid is not None:
                model.eval()
                with torch.no_grad():
                    rows = grid(a[:8])
                write_grid(run_dir / "samples" / f"epoch{epoch + 1:04d}.png", rows)
    model.log = log
    return model.eval()


def fit_cyclegan(
    a: torch.Tensor,
    b: torch.Tensor,
    width: int = 32,
    sched: Schedule | None = None,
    seed: int = 0,
    run_dir: str | Path | None = None,
    cycle: float = 10.0,
    blocks: int = 6,
    quiet: bool = True,
    device: str = "auto",
    similarity: float = 0.0,
    margin: float = 2.0,
) -> CycleGAN:
    """Train (or continue) a CycleGAN between A and B; its ``student`` is G: A → B.
    ``device``: "auto" (a GPU if there is one), "cpu", "cuda", ...

    ``similarity > 0`` makes it SPGAN (Deng et al. 2018, HorNet's translator): a SiaNet φ
    (:class:`Siamese`) learns :func:`contrastive` on positive pairs (a, G(a)), (b, F(b)) and
    negative pairs (G(a), b), (F(b), a) with margin ``margin`` (2), and the generators add
    ``similarity`` × the same loss on those pairs (SiaNet frozen), so that a translated image
    keeps what identifies it and does not copy the other domain's images (the paper's weight 2
    is recalled, not checked: ours)."""
    sched = sched or Schedule()
    torch.manual_seed(seed)
    m = CycleGAN(a.shape[1], width, blocks, siamese=similarity > 0).to(pick_device(device))
    opts = {"g": _adam([*m.student.parameters(), *m.g_ba.parameters()], sched),
            "d": _adam([*m.d_a.parameters(), *m.d_b.parameters()], sched)}  # fmt: skip
    if similarity > 0:
        opts["s"] = _adam(m.siamese.parameters(), sched)
    pool_a, pool_b = ImagePool(50), ImagePool(50)

    def pairs(xa, xb, fake_b, fake_a) -> torch.Tensor:
        e = m.siamese
        return (contrastive(e(xa), e(fake_b), True, margin)
                + contrastive(e(xb), e(fake_a), True, margin)
                + contrastive(e(fake_b), e(xb), False, margin)
                + contrastive(e(fake_a), e(xa), False, margin))  # fmt: skip

    def step(xa, xb):
        fake_b, fake_a = m.student(xa), m.g_ba(xb)
        for d in (m.d_a, m.d_b):
            d.requires_grad_(False)
        adv = lsgan_g(m.d_b(fake_b)) + lsgan_g(m.d_a(fake_a))
        cyc = l1(m.g_ba(fake_b), xa) + l1(m.student(fake_a), xb)
        idt = l1(m.student(xb), xb) + l1(m.g_ba(xa), xa)
        loss_g = adv + cycle * cyc + 0.5 * cycle * idt
        stats = {}
        if similarity > 0:
            m.siamese.requires_grad_(False)
            sim = pairs(xa, xb, fake_b, fake_a)
            m.siamese.requires_grad_(True)
            loss_g, stats["similarity"] = loss_g + similarity * sim, sim.item()
        opts["g"].zero_grad(set_to_none=True)
        loss_g.backward()
        opts["g"].step()
        if similarity > 0:
            loss_s = pairs(xa, xb, fake_b.detach(), fake_a.detach())
            opts["s"].zero_grad(set_to_none=True)
            loss_s.backward()
            opts["s"].step()
            stats["siamese"] = loss_s.item()
        for d in (m.d_a, m.d_b):
            d.requires_grad_(True)
        loss_d = lsgan_d(m.d_b(xb), m.d_b(pool_b.query(fake_b))) + lsgan_d(
            m.d_a(xa), m.d_a(pool_a.query(fake_a))
        )
        opts["d"].zero_grad(set_to_none=True)
        loss_d.backward()
        opts["d"].step()
        return {"g_adv": adv.item(), "cycle": cyc.item(), "d": loss_d.item(), **stats}

    run_dir = None if run_dir is None else Path(run_dir)

    def grid(x):  # input | G(input)
        return [x, m.student(x)]

    pools = {"a": pool_a, "b": pool_b}
    return _run(m, opts, run_dir, sched, step, a, b, quiet, pools, grid=grid)


def fit_pix2pix(
    x: torch.Tensor,
    y: torch.Tensor,
    width: int = 32,
    sched: Schedule | None = None,
    seed: int = 0,
    run_dir: str | Path | None = None,
    l1_weight: float = 100.0,
    depth: int = 5,
    quiet: bool = True,
    device: str = "auto",
) -> Pix2Pix:
    """Train (or continue) pix2pix on pairs (x_i, y_i) (Isola et al. 2017: a U-Net, a
    conditional PatchGAN, vanilla GAN + λ·L1, λ = 100); its ``student`` is G: x → y."""
    if len(x) != len(y):
        raise ValueError(f"pix2pix needs paired images: {len(x)} inputs, {len(y)} targets")
    sched = sched or Schedule()
    torch.manual_seed(seed)
    m = Pix2Pix(x.shape[1], y.shape[1], width, depth).to(pick_device(device))
    opts = {"g": _adam(m.student.parameters(), sched), "d": _adam(m.d.parameters(), sched)}

    def step(xa, xb):
        fake = m.student(xa)
        m.d.requires_grad_(False)
        adv, rec = gan_g(m.d(torch.cat([xa, fake], 1))), l1(fake, xb)
        m.d.requires_grad_(True)
        opts["g"].zero_grad(set_to_none=True)
        (adv + l1_weight * rec).backward()
        opts["g"].step()
        loss_d = gan_d(m.d(torch.cat([xa, xb], 1)), m.d(torch.cat([xa, fake.detach()], 1)))
        opts["d"].zero_grad(set_to_none=True)
        loss_d.backward()
        opts["d"].step()
        return {"g_adv": adv.item(), "l1": rec.item(), "d": loss_d.item()}

    run_dir = None if run_dir is None else Path(run_dir)

    def grid(xa):  # input | G(input) | target
        return [xa, m.student(xa), y[: len(xa)]]

    return _run(m, opts, run_dir, sched, step, x, y, quiet, paired=True, grid=grid)


def fit_student(
    method: str,
    teacher: CycleGAN | Pix2Pix,
    a: torch.Tensor,
    b: torch.Tensor,
    width: int,
    sched: Schedule | None = None,
    seed: int = 0,
    run_dir: str | Path | None = None,
    w_gan: float = 1e-3,
    w_feat: float = 1.0,
    w_gram: float = 1e5,
    teacher_as_real: bool = True,
    w_tri: float = 0.0,
    margin: float = 1.0,
    quiet: bool = True,
    device: str = "auto",
) -> nn.Module:
    """Train (or continue) a student G_S: A → B of ``width`` by ``method`` (:data:`METHODS`);
    returns the module whose ``student`` is G_S. With a :class:`Pix2Pix` teacher A and B are
    paired (b_i the target of a_i) and every critic sees the input beside the image."""
    sched = sched or Schedule()
    paired = teacher.conditional
    if method == "scratch":
        kw = {"sched": sched, "seed": seed, "run_dir": run_dir, "quiet": quiet, "device": device}
        if paired:
            return fit_pix2pix(a, b, width, depth=teacher.spec["depth"], **kw)
        return fit_cyclegan(a, b, width, blocks=teacher.spec["blocks"], **kw)
    torch.manual_seed(seed)
    dev = pick_device(device)
    g_t, d_t = teacher.student.to(dev).eval(), teacher.critic.to(dev).eval()
    for p in (*g_t.parameters(), *d_t.parameters()):
        p.requires_grad_(False)
    m = Distiller(method, g_t, width, d_t.net[0].in_channels).to(dev)

    def cond(xa: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
        return torch.cat([xa, img], 1) if paired else img

    opts = {"g": _adam([p for n, p in m.named_parameters() if not n.startswith("d_s.")], sched)}
    if method == "ours":
        opts["d"] = _adam(m.d_s.parameters(), sched)

    def step(xa, xb):
        with torch.no_grad():
            out_t, f_t = g_t(xa, features=True)
        out_s, f_s = m.student(xa, features=True)
        pix = l1(out_s, out_t)
        stats, loss = {"pixel": pix.item()}, pix
        if method == "feature":
            feat = sum((p(fs).float() - ft).pow(2).mean() for p, fs, ft in zip(m.proj, f_s, f_t))
            stats["feature"], loss = feat.item(), loss + w_feat * feat
        if method == "ours":
            with torch.no_grad():
                phi_t = critic_features(d_t, cond(xa, out_t))
            phi_s = critic_features(d_t, cond(xa, out_s))
            feat = sum(l1(s, t) for s, t in zip(phi_s, phi_t))
            gr = sum((gram(s) - gram(t)).pow(2).mean() for s, t in zip(phi_s, phi_t))
            m.d_s.requires_grad_(False)
            adv = lsgan_g(m.d_s(cond(xa, out_s)))
            m.d_s.requires_grad_(True)
            loss = loss + w_gan * adv + w_feat * feat + w_gram * gr
            stats.update(feature=feat.item(), gram=gr.item(), g_adv=adv.item())
            if w_tri > 0:
                tri = triplet(critic_features(m.d_s, cond(xa, out_s))[-1],
                              critic_features(m.d_s, cond(xa, out_t))[-1], margin)  # fmt: skip
                stats["triplet"], loss = tri.item(), loss + w_tri * tri
        opts["g"].zero_grad(set_to_none=True)
        loss.backward()
        opts["g"].step()
        if method == "ours":
            fake = m.d_s(cond(xa, out_s.detach()))
            real = m.d_s(cond(xa, xb))
            if teacher_as_real:
                real = torch.cat([real, m.d_s(cond(xa, out_t))])
            loss_d = lsgan_d(real, fake)
            opts["d"].zero_grad(set_to_none=True)
            loss_d.backward()
            opts["d"].step()
            stats["d"] = loss_d.item()
        return stats

    run_dir = None if run_dir is None else Path(run_dir)

    def grid(x):  # input | teacher | student
        return [x, g_t(x), m.student(x)]

    return _run(m, opts, run_dir, sched, step, a, b, quiet, paired=paired, grid=grid)
