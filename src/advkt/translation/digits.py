"""USPS ↔ MNIST, the unpaired translation task of ``gan_distill.md`` (issue #19), and its judge.

- :func:`digit_domains`: both domains' train and test images as float (N, 1, 28, 28) in
  [-1, 1] (USPS's 16 x 16 digits resized to 28 x 28 as :func:`advkt.data.usps.to_size`) with their
  labels; the labels are read only by the judge and the scores, never by the translators.
- :func:`train_judge`: the target domain's classifier (LeNet-5, trained by the library on the
  real target training images, cached in the cache folder): the analogue of the FCN score.
- :func:`translation_scores`: the judge's accuracy on translated source test digits and the
  Fréchet distance between the judge's pooled features of those and of the real target test
  digits (a *Fréchet distance in the judge's features*, not FID).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from advkt.translation.metrics import frechet_distance

DOMAINS = ("usps", "mnist")


def digit_domains(root: str | Path) -> dict[str, dict[str, torch.Tensor]]:
    """{"usps" | "mnist": {"x_train", "y_train", "x_test", "y_test"}}, images in [-1, 1]."""
    from advkt.data import mnist, usps

    out = {}
    for name, read in (("usps", usps.usps), ("mnist", mnist.mnist)):
        parts = {}
        for split in ("train", "test"):
            d = read(root, split)
            x = usps.to_size(d.x, 28)
            parts[f"x_{split}"] = x.float() / 127.5 - 1.0
            parts[f"y_{split}"] = d.y.long()
        out[name] = parts
    return out


def _judge_model() -> nn.Module:
    from advkt.models import build_model

    return build_model({"name": "lenet5", "num_classes": 10})


def train_judge(
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int = 4,
    seed: int = 0,
    use_cache: bool = True,
    device: str = "auto",
) -> nn.Module:
    """LeNet-5 on (x, y) (Adam 1e-3, batch 128), frozen, in eval mode, on ``device``; cached by
    the data's digest and the settings."""
    import hashlib

    from advkt.data.cache import cached_tensors
    from advkt.engine.run import pick_device

    dev = pick_device(device)

    key = hashlib.sha256(x.numpy().tobytes() + y.numpy().tobytes())
    key.update(f"lenet5-adam1e-3-b128-e{epochs}-s{seed}".encode())

    def fit() -> dict[str, torch.Tensor]:
        torch.manual_seed(seed)
        model = _judge_model().to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        xd, yd = x.to(dev), y.to(dev)
        for _ in range(epochs):
            for idx in torch.randperm(len(x)).split(128):
                loss = nn.functional.cross_entropy(model(xd[idx]), yd[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    model = _judge_model()
    model.load_state_dict(cached_tensors("translation-judge", key.hexdigest()[:20], fit, use_cache))
    return model.to(dev).eval().requires_grad_(False)


@torch.no_grad()
def judge_outputs(judge: nn.Module, x: torch.Tensor, batch: int = 500):
    """(predicted classes, pooled features) of the judge on images x."""
    dev = next(judge.parameters()).device
    preds, feats = [], []
    for part in x.split(batch):
        logits, f = judge(part.to(dev), features=True)
        preds.append(logits.argmax(1).cpu())
        feats.append(f.pooled.flatten(1).cpu())
    return torch.cat(preds), torch.cat(feats)


@torch.no_grad()
def translate(generator: nn.Module, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    generator.eval()
    p = next(generator.parameters(), None)
    dev = p.device if p is not None else x.device
    return torch.cat([generator(part.to(dev)).cpu() for part in x.split(batch)])


def translation_scores(
    generator: nn.Module,
    judge: nn.Module,
    x_source: torch.Tensor,
    y_source: torch.Tensor,
    x_target: torch.Tensor,
) -> dict[str, float]:
    """``acc``: the judge's accuracy (%) on the translated source images; ``frechet``: the
    Fréchet distance between the judge's features of those and of the real target images."""
    fake = translate(generator, x_source)
    pred, f_fake = judge_outputs(judge, fake)
    _, f_real = judge_outputs(judge, x_target)
    return {
        "acc": float((pred == y_source.cpu()).float().mean() * 100),
        "frechet": frechet_distance(f_fake, f_real),
    }
