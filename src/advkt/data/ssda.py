"""Semi-supervised domain adaptation data: a labelled source domain beside a target domain, in one
training split whose ``domain`` tags say which is which (0 source, 1 target).

``ssda`` takes ``family`` (``office_caltech``, ``amazon_reviews`` or ``digits``: MNIST and USPS),
``source`` and ``target`` (domains of that family), ``normalize`` and ``source_limit``:

- split ``train``: every source sample, then the target's training part, all with their labels;
  the recipe's ``data.target_shots`` keeps k labels per class of the target (seeded by the run),
  moves ``data.target_val_shots`` per class to the validation split and marks the other target
  samples unlabelled (``advkt.engine.splits``);
- split ``test``: the target's test part, never seen in training or selection.

Inputs are float32 (N, 1, D) (D = 800 SURF words, 5,000 review features). Digits are uint8
images (N, 1, 28, 28): USPS's 16 x 16 digits resized to MNIST's 28 x 28 (bilinear, **ours**),
normalised with mean = std = 0.5 for both domains (**ours**); each domain's train file is its
training part, its test file the test part.
``source_limit``: the first N source samples of a fixed shuffle (seed 0), e.g. a 2,000-image
MNIST source; None keeps them all. Office-Caltech
  has no test split of its own: a fixed class-stratified half of the target domain (seed 0) is
  the test part, the other half the training part. Amazon reviews: the target's test file.

``normalize="l1-zscore"`` (**ours**, the default): each sample divided by its sum (bag-of-words
counts become frequencies), then each feature standardised with the mean and std of the training
split (source and target training part together); ``"none"`` keeps the counts.
"""

from __future__ import annotations

from pathlib import Path

import torch

from advkt.data import amazon_reviews, office_caltech
from advkt.data.base import DataError, TensorData, check_split
from advkt.registry import register_dataset

FAMILIES = {
    "office_caltech": office_caltech.DOMAINS,
    "amazon_reviews": amazon_reviews.DOMAINS,
    "digits": ("mnist", "usps"),
}


def _half(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed class-stratified split of indices into (train part, test part), halves."""
    g = torch.Generator().manual_seed(0)
    train, test = [], []
    for c in torch.unique(y):
        idx = (y == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        train.append(idx[: len(idx) // 2])
        test.append(idx[len(idx) // 2 :])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def _digits(root: Path, domain: str, part: str) -> TensorData:
    from advkt.data import mnist, usps

    d = (mnist.mnist if domain == "mnist" else usps.usps)(root, part)
    x = usps.to_size(d.x, 28)  # USPS 16 x 16 -> 28 x 28
    return TensorData(x, d.y, 10, (0.5,), (0.5,), {}, f"digits/{domain}")


def _domain(root: Path, family: str, domain: str, part: str) -> TensorData:
    if family == "digits":
        return _digits(root, domain, part)
    if family == "office_caltech":
        whole = office_caltech.office_caltech(root, "all", domain=domain)
        train, test = _half(whole.y)
        return whole.subset(train if part == "train" else test)
    return amazon_reviews.amazon_reviews(root, part, domain=domain)


def _normalise(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    def l1(a: torch.Tensor) -> torch.Tensor:
        return a / a.sum(1, keepdim=True).clamp_min(1e-12)

    r = l1(ref)
    mean, std = r.mean(0), r.std(0).clamp_min(1e-6)
    return (l1(x) - mean) / std


@register_dataset("ssda")
def ssda(
    root: str | Path,
    split: str = "train",
    download: bool = False,
    family: str = "office_caltech",
    source: str = "amazon",
    target: str = "webcam",
    normalize: str = "l1-zscore",
    source_limit: int | None = None,
    **kw,
) -> TensorData:
    """Source and target of one adaptation task (module docstring)."""
    check_split("ssda", split, ("train", "test"), kw)
    if family not in FAMILIES:
        raise DataError(f"ssda: unknown family '{family}'; valid: {', '.join(FAMILIES)}")
    for role, d in (("source", source), ("target", target)):
        if d not in FAMILIES[family]:
            raise DataError(
                f"ssda: unknown {role} '{d}' for {family}; valid: {', '.join(FAMILIES[family])}"
            )
    if source == target:
        raise DataError(f"ssda: source and target are both '{source}'")
    if normalize not in ("l1-zscore", "none"):
        raise DataError(f"ssda: normalize must be 'l1-zscore' or 'none', got '{normalize}'")
    root = Path(root)
    # the whole source domain (Office-Caltech) or its training file (Amazon reviews), labelled
    if family == "office_caltech":
        src = office_caltech.office_caltech(root, "all", domain=source)
    else:
        src = _domain(root, family, source, "train")
    if source_limit is not None:
        if source_limit < 1:
            raise DataError(f"ssda: source_limit must be >= 1, got {source_limit}")
        order = torch.randperm(len(src), generator=torch.Generator().manual_seed(0))
        src = src.subset(order[:source_limit].sort().values)
    tgt_train = _domain(root, family, target, "train")
    x_train = torch.cat([src.x, tgt_train.x])
    if split == "train":
        x, y = x_train, torch.cat([src.y, tgt_train.y])
        domain = torch.cat(
            [torch.zeros(len(src), dtype=torch.long), torch.ones(len(tgt_train), dtype=torch.long)]
        )
    else:
        test = _domain(root, family, target, "test")
        x, y, domain = test.x, test.y, torch.ones(len(test), dtype=torch.long)
    name = f"ssda/{family}/{source}->{target}"
    if family == "digits":  # images: uint8, normalised by the engine
        return TensorData(x, y, 10, (0.5,), (0.5,), {}, name, domain)
    if normalize == "l1-zscore":
        x = _normalise(x, x_train)
    # (N, 1, D), as a 1-D signal: the library's MLP reads it with in_size=D, ndim=1
    return TensorData(x.float().unsqueeze(1), y, src.num_classes, name=name, domain=domain)
