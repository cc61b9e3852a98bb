"""Person re-ID folders (Market-1501, DukeMTMC-reID, CUHK03; :mod:`advkt.reid.layouts`) as
classification splits for training: ``reid`` with ``layout`` and ``size``.

The training identities' images, decoded once into uint8 (N, 3, H, W) at ``size`` (default
128 x 64, the usual re-ID input; the synthetic set is drawn at 64 x 32), labels = the training
identity 0..n-1. ``split="train"`` holds every training image but the last of each identity (in
file order), ``split="test"`` that last one: the engine's per-epoch accuracy is then identity
classification on unseen images of the training identities, a check that training learns; the
re-ID figures (CMC, mAP on query / gallery) come from :func:`advkt.reid.retrieval.evaluate_run`.
Normalised with the ImageNet mean and std; random horizontal flips (the usual augmentation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from advkt.data.base import DataError, TensorData, check_split
from advkt.registry import register_dataset

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def read_images(paths: list[Path], size: tuple[int, int]) -> torch.Tensor:
    """uint8 (N, 3, H, W) of image files, resized to ``size`` (H, W) where they differ."""
    from PIL import Image

    h, w = size
    out = np.empty((len(paths), 3, h, w), np.uint8)
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as im:
                im = im.convert("RGB")
                if im.size != (w, h):
                    im = im.resize((w, h), Image.BILINEAR)
                out[i] = np.asarray(im).transpose(2, 0, 1)
        except OSError as exc:
            raise DataError(f"{p}: not a readable image ({exc})") from None
    return torch.from_numpy(out)


@register_dataset("reid")
def reid(
    root: str | Path,
    split: str = "train",
    download: bool = False,
    layout: str = "market1501",
    size: tuple[int, int] | list[int] = (128, 64),
) -> TensorData:
    from advkt.reid import layouts

    check_split("reid", split, ("train", "test"))
    readers = {"market1501": layouts.market1501, "dukemtmc": layouts.dukemtmc,
               "cuhk03": layouts.cuhk03}  # fmt: skip
    if layout not in readers:
        raise DataError(f"reid: layout '{layout}' unknown; expected one of {', '.join(readers)}")
    train = readers[layout](root)["train"]
    last = {im.label: i for i, im in enumerate(train)}  # each identity's last image
    held = set(last.values())
    if split == "test":
        chosen = [im for i, im in enumerate(train) if i in held]
    else:
        chosen = [im for i, im in enumerate(train) if i not in held]
    x = read_images([im.path for im in chosen], tuple(size))
    y = torch.tensor([im.label for im in chosen], dtype=torch.long)
    n = len(last)
    return TensorData(x, y, n, IMAGENET_MEAN, IMAGENET_STD, {"flip": True}, f"reid-{layout}")
