"""Metrics as TensorBoard event files (``train.tensorboard: true``), beside ``metrics.jsonl``.

How users of mdistiller and torchdistill watch their runs: ``tensorboard --logdir runs/``. The
events go to ``<run>/tensorboard/``; a resumed run drops the events of the epochs it redoes.
"""

from __future__ import annotations

from pathlib import Path

from advkt.recipe import RecipeError


class EpochWriter:
    """Writes one epoch's record (``metrics.jsonl``'s line) as scalars at step = epoch."""

    def __init__(self, run_dir: Path, start_epoch: int) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # torch's module needs the tensorboard package
            raise RecipeError(
                "train.tensorboard needs the tensorboard package: pip install 'advkt[tensorboard]'"
            ) from None
        # purge_step: events at or after it (from a run killed after its last checkpoint) go
        self._w = SummaryWriter(
            log_dir=str(Path(run_dir) / "tensorboard"), purge_step=start_epoch + 1
        )

    def write(self, record: dict) -> None:
        step = record["epoch"]
        for k, v in record.items():
            if k != "epoch" and isinstance(v, (int, float)):
                self._w.add_scalar(k, v, step)
        self._w.flush()

    def close(self) -> None:
        self._w.close()
