"""The one in-memory form every dataset loader returns.

Loaders decode their on-disk format once into tensors; the engine batches, shards and augments
those tensors on the training device, so an epoch never touches the disk or a JPEG decoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


class DataError(RuntimeError):
    """Missing, corrupt or malformed data; the message names the file and the expected layout."""


def check_split(name: str, split: str, valid, options: dict | None = None) -> None:
    """A one-line DataError for a split a reader does not have, or options it does not take."""
    if split not in valid:
        raise DataError(f"{name}: unknown split '{split}'; valid: {', '.join(valid)}")
    if options:
        raise DataError(f"{name}: unexpected options {', '.join(sorted(options))}")


@dataclass
class TensorData:
    """A split of a dataset, held in memory.

    x: uint8 images (N, C, H, W), or float32 signals (N, C, L) / features (N, D) for data that is
        not an image. uint8 inputs are scaled to [0, 1] and normalised by ``mean``/``std`` per
        channel on the device; float inputs are used as they are.
    y: int64 labels (N,).
    """

    x: torch.Tensor
    y: torch.Tensor
    num_classes: int
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    augment: dict = field(
        default_factory=dict
    )  # default batch augmentation, e.g. {"crop": 4, "flip": True}
    name: str = ""
    # domain adaptation: int64 (N,), 0 for a source sample, 1 for a target one (None: one domain)
    domain: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0]:
            raise DataError(f"{self.name}: {self.x.shape[0]} inputs but {self.y.shape[0]} labels")
        if self.domain is not None and self.domain.shape != self.y.shape:
            raise DataError(
                f"{self.name}: {tuple(self.domain.shape)} domain tags for {len(self)} samples"
            )

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def subset(self, index: torch.Tensor) -> TensorData:
        return TensorData(
            self.x[index],
            self.y[index],
            self.num_classes,
            self.mean,
            self.std,
            self.augment,
            self.name,
            None if self.domain is None else self.domain[index],
        )
