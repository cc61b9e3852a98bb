"""The two translation tasks of ``gan_distill.md`` (issue #19) and the judge that scores them.

- :func:`digit_domains`: USPS ↔ MNIST (unpaired): both domains' train and test images as float
  (N, 1, 28, 28) in [-1, 1] (USPS's 16 x 16 digits resized to 28 x 28 by
  :func:`advkt.data.usps.to_size`) with their labels.
- :func:`colour_pairs`: CIFAR-10 colourisation (paired): the grey image (ITU-R 601 luma,
  0.299 R + 0.587 G + 0.114 B) as input, the colour image as target, (N, 1 | 3, 32, 32) in
  [-1, 1], with the labels.
- :func:`train_judge`: the target domain's classifier (LeNet-5 on MNIST, resnet8 on CIFAR-10),
  trained by the library on the real target training images and cached: the analogue of the
  FCN score. Labels are read by the judge and the scores only, never by a translator.
- :func:`translation_scores`: the judge's accuracy on translated source test images and the
  Fréchet distance between its pooled features of those and of real target images (a *Fréchet
  distance in the judge's features*, not FID); :func:`colour_scores`: the judge's accuracy on
  colourised test images and PSNR / SSIM against the true colours (on [0, 1]).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from advkt.translation.metrics import frechet_distance, psnr, ssim

LENET5 = {"name": "lenet5", "num_classes": 10}
RESNET8 = {"name": "resnet8", "num_classes": 10}


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


def grey(x: torch.Tensor) -> torch.Tensor:
    """The luma of colour images (N, 3, H, W) -> (N, 1, H, W), same scale."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def colour_pairs(root: str | Path) -> dict[str, torch.Tensor]:
    """CIFAR-10 as {"x_<split>": grey (N, 1, 32, 32), "c_<split>": colour (N, 3, 32, 32),
    "y_<split>"} for split in train, test; images in [-1, 1]."""
    from advkt.data.cifar import cifar10

    out = {}
    for split in ("train", "test"):
        d = cifar10(root, split)
        c = d.x.float() / 127.5 - 1.0
        out |= {f"x_{split}": grey(c), f"c_{split}": c, f"y_{split}": d.y.long()}
    return out


def train_judge(
    x: torch.Tensor,
    y: torch.Tensor,
    model: dict | None = None,
    epochs: int = 4,
    seed: int = 0,
    use_cache: bool = True,
    device: str = "auto",
) -> nn.Module:
    """``model`` (a model spec; LeNet-5 by default) trained on (x, y) with Adam 1e-3, batch 128,
    frozen, in eval mode, on ``device``; cached by the data's digest and the settings."""
    import hashlib
    import json

    from advkt.data.cache import cached_tensors
    from advkt.engine.run import pick_device
    from advkt.models import build_model

    spec = dict(model or LENET5)
    dev = pick_device(device)
    key = hashlib.sha256(x.numpy().tobytes() + y.numpy().tobytes())
    key.update(f"{json.dumps(spec, sort_keys=True)}-adam1e-3-b128-e{epochs}-s{seed}".encode())

    def fit() -> dict[str, torch.Tensor]:
        torch.manual_seed(seed)
        net = build_model(spec).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        net.train()
        xd, yd = x.to(dev), y.to(dev)
        for _ in range(epochs):
            for idx in torch.randperm(len(x)).split(128):
                loss = nn.functional.cross_entropy(net(xd[idx]), yd[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}

    net = build_model(spec)
    net.load_state_dict(cached_tensors("translation-judge", key.hexdigest()[:20], fit, use_cache))
    return net.to(dev).eval().requires_grad_(False)


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


def colour_scores(
    generator: nn.Module,
    judge: nn.Module,
    x_grey: torch.Tensor,
    y: torch.Tensor,
    true_colour: torch.Tensor,
) -> dict[str, float]:
    """``acc``: the judge's accuracy (%) on the colourised images; ``psnr`` (dB) and ``ssim``
    against the true colours, both on [0, 1]."""
    fake = translate(generator, x_grey)
    pred, _ = judge_outputs(judge, fake)
    f01, t01 = (fake.clamp(-1, 1) + 1) / 2, (true_colour.cpu() + 1) / 2
    return {
        "acc": float((pred == y.cpu()).float().mean() * 100),
        "psnr": psnr(f01, t01),
        "ssim": ssim(f01, t01),
    }
