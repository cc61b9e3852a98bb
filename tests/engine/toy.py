"""A tiny synthetic dataset and recipe for engine tests (registered on import)."""

from __future__ import annotations

import torch

from advkt.data.base import TensorData
from advkt.registry import DATASETS, register_dataset

if "toy" not in DATASETS._items:

    @register_dataset("toy")
    def toy(root=None, split: str = "train", download: bool = False, n: int = 256) -> TensorData:
        """Four Gaussian blobs in 8-D, shaped (N, 1, 8) like a 1-D signal."""
        g = torch.Generator().manual_seed(0 if split == "train" else 1)
        y = torch.arange(n) % 4
        centres = torch.randn(4, 8, generator=torch.Generator().manual_seed(42)) * 2
        x = centres[y] + torch.randn(n, 8, generator=g)
        return TensorData(x.unsqueeze(1), y, num_classes=4, name="toy")


if "toy_da" not in DATASETS._items:

    @register_dataset("toy_da")
    def toy_da(root=None, split: str = "train", download: bool = False, n: int = 256) -> TensorData:
        """The toy blobs as a domain-adaptation task: train = a source half and a target half
        (the same classes, the blobs shifted by a constant), test = target samples only."""
        base = toy(split=split, n=n)
        shift = torch.linspace(-1.0, 1.0, 8)
        if split == "test":
            dom = torch.ones(n, dtype=torch.long)
        else:
            dom = (torch.arange(n) >= n // 2).long()
        x = base.x + dom.view(-1, 1, 1) * shift
        return TensorData(x, base.y, num_classes=4, name="toy_da", domain=dom)


if "toy_img" not in DATASETS._items:

    @register_dataset("toy_img")
    def toy_img(
        root=None, split: str = "train", download: bool = False, n: int = 128
    ) -> TensorData:
        """The toy blobs as 1 x 4 x 4 images (16-D blobs), for the image-only code paths."""
        g = torch.Generator().manual_seed(0 if split == "train" else 1)
        y = torch.arange(n) % 4
        centres = torch.randn(4, 16, generator=torch.Generator().manual_seed(42)) * 2
        x = centres[y] + torch.randn(n, 16, generator=g)
        return TensorData(x.view(n, 1, 4, 4), y, num_classes=4, name="toy_img")


def toy_recipe(tmp_path, method: str = "kd", epochs: int = 2, **extra) -> dict:
    """A recipe tree: an MLP teacher trained from its own recipe, an MLP student."""
    base = {
        "data": {"dataset": "toy"},
        "train": {
            "epochs": epochs,
            "batch_size": 32,
            "schedule": {"name": "constant"},
            "optimizer": {"name": "sgd", "lr": 0.05, "weight_decay": 0.0},
        },
        "out": str(tmp_path),
    }
    teacher_yaml = tmp_path / "teacher.yaml"
    import yaml

    teacher_yaml.write_text(
        yaml.safe_dump(
            {
                **base,
                "method": {"name": "student"},
                "student": {"model": "mlp", "args": {"hidden": [32, 32], "in_size": 8, "ndim": 1}},
            }
        )
    )
    tree = {
        **base,
        "method": {"name": method},
        "student": {"model": "mlp", "args": {"hidden": [8, 8], "in_size": 8, "ndim": 1}},
        "teacher": {
            "model": "mlp",
            "args": {"hidden": [32, 32], "in_size": 8, "ndim": 1},
            "recipe": str(teacher_yaml),
        },
    }
    if method == "student":
        del tree["teacher"]
    for k, v in extra.items():
        tree[k] = v
    return tree
