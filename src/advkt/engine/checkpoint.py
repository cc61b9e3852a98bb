"""Checkpoints that never run code when loaded and survive a crash or a kill.

A checkpoint is a folder ``<run>/ckpt/<tag>/`` holding

- ``model.safetensors``: the student's weights; ``spec.json``: the student's architecture;
- ``method.safetensors``: the method's other trainable parts (discriminators, adapters, ...);
- ``state.pt``: optimiser state, RNG state and counters, read with
  ``torch.load(weights_only=True)``.

It is written into a temporary folder, each file and the folder flushed to disk (fsync), and
renamed into place (atomic on POSIX); then a one-line pointer file (``last``, ``best``) is replaced
the same way. A kill at any moment leaves the previous pointer on a complete checkpoint, and a
power loss cannot leave a pointer to unwritten data. The checkpoint ``last`` pointed to before is
kept as ``prev``: a newest checkpoint that does not load (a failing disk, a bad copy) is reported
and the run resumes from ``prev`` (:func:`load_resumable`). Temporary folders left by a killed
writer are removed by the next save.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from advkt.atomic import fsync, write_text_atomic


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable, or does not match the architecture asked for."""


def _tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


_LEFTOVER = re.compile(r"^\..+\.(tmp|old)(\d+)$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_leftovers(root: Path) -> list[Path]:
    """Remove the temporary files and folders (``.<tag>.tmp<pid>``, ``.<tag>.old<pid>``) that
    writers which are no longer running left in ``root``; returns what was removed."""
    gone = []
    for p in root.iterdir() if root.is_dir() else ():
        m = _LEFTOVER.match(p.name)
        if m and int(m.group(2)) != os.getpid() and not _alive(int(m.group(2))):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            gone.append(p)
    return gone


def save(
    run_dir: str | Path,
    tag: str,
    method: nn.Module,
    spec: dict,
    state: dict[str, Any],
    pointers: tuple[str, ...] = ("last",),
) -> Path:
    """Write checkpoint ``tag`` and point ``pointers`` at it; drop checkpoints nothing points to."""
    root = Path(run_dir) / "ckpt"
    root.mkdir(parents=True, exist_ok=True)
    remove_leftovers(root)
    final = root / tag
    tmp = root / f".{tag}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    full = method.state_dict()
    student = {k[len("student.") :]: v for k, v in full.items() if k.startswith("student.")}
    rest = {k: v for k, v in full.items() if not k.startswith("student.")}
    save_file(_tensors(student), str(tmp / "model.safetensors"))
    save_file(_tensors(rest), str(tmp / "method.safetensors"))
    (tmp / "spec.json").write_text(json.dumps(spec, indent=2) + "\n")
    torch.save(state, tmp / "state.pt")
    for f in (*tmp.iterdir(), tmp):
        fsync(f)
    if final.exists():  # rewriting the same tag: move the old one aside first
        old = root / f".{tag}.old{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    fsync(root)
    last = root / "last"
    if "last" in pointers and last.is_file() and last.read_text().strip() != tag:
        write_text_atomic(root / "prev", last.read_text())  # kept to fall back to
    for p in pointers:
        write_text_atomic(root / p, tag + "\n")
    live = {(root / p).read_text().strip() for p in POINTERS if (root / p).exists()}
    for d in root.iterdir():
        if d.is_dir() and not d.name.startswith(".") and d.name not in live:
            shutil.rmtree(d, ignore_errors=True)
    return final


POINTERS = ("last", "prev", "best")


def has_checkpoint(run_dir: str | Path) -> bool:
    """Whether the run folder holds a checkpoint to resume from."""
    return (Path(run_dir) / "ckpt" / "last").is_file()


def resolve(path: str | Path, pointer: str = "last") -> Path:
    """A run folder, its ``ckpt`` folder or a checkpoint folder -> the checkpoint folder."""
    p = Path(path)
    for root in (p / "ckpt", p):
        ptr = root / pointer
        if ptr.is_file():
            return root / ptr.read_text().strip()
    if (p / "model.safetensors").is_file():
        return p
    if pointer == "best" and ((p / "ckpt" / "last").is_file() or (p / "last").is_file()):
        raise CheckpointError(
            f"{p} has no 'best' checkpoint: the best epoch is chosen on a validation split, and "
            "this run had none (train with data.validation=0.1, say); use its last checkpoint"
        )
    raise CheckpointError(
        f"no checkpoint at {p}: expected a run folder with ckpt/{pointer}, or a folder holding "
        "model.safetensors and spec.json"
    )


def read_spec(ckpt: Path) -> dict:
    try:
        return json.loads((ckpt / "spec.json").read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {ckpt / 'spec.json'}: {exc}") from None


def load_model_weights(model: nn.Module, ckpt: Path, expected_spec: dict | None = None) -> None:
    """Load a student's weights into ``model``; the spec and every tensor shape must match."""
    if expected_spec is not None:
        spec = read_spec(ckpt)
        if spec != expected_spec:
            raise CheckpointError(
                f"checkpoint {ckpt} holds {_describe(spec)}, but {_describe(expected_spec)} "
                "was asked for"
            )
    try:
        weights = load_file(str(ckpt / "model.safetensors"))
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"cannot read {ckpt / 'model.safetensors'}: {exc}") from None
    _load_strict(model, weights, ckpt / "model.safetensors")


def load_method(method: nn.Module, ckpt: Path) -> dict[str, Any]:
    """Restore a whole method (student + its parts) and return the training state."""
    student, rest = (_read_weights(ckpt / f) for f in ("model.safetensors", "method.safetensors"))
    full = {f"student.{k}": v for k, v in student.items()} | rest
    _load_strict(method, full, ckpt)
    try:
        return torch.load(ckpt / "state.pt", map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors, truncation, a refused global
        msg = str(exc).split("\n")[0]  # not PyTorch's advice to load with weights_only=False
        raise CheckpointError(f"cannot read {ckpt / 'state.pt'}: {msg}") from None


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"cannot read the weights {path}: {exc}") from None


def load_resumable(method: nn.Module, run_dir: str | Path) -> tuple[dict[str, Any], Path]:
    """Restore ``method`` from the run's newest checkpoint; if that one does not load, say so on
    stderr and use the previous one (``prev``). Returns (training state, checkpoint used)."""
    newest = resolve(run_dir)
    try:
        return load_method(method, newest), newest
    except CheckpointError as exc:
        root = Path(run_dir) / "ckpt"
        if not (root / "prev").is_file():
            raise
        prev = resolve(run_dir, "prev")
        print(
            f"advkt: the newest checkpoint does not load ({exc}); resuming from the previous "
            f"one, {prev.name}",
            file=sys.stderr,
        )
        return load_method(method, prev), prev


def _load_strict(module: nn.Module, weights: dict[str, torch.Tensor], where: Path) -> None:
    own = module.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    wrong = [k for k in own if k in weights and own[k].shape != weights[k].shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing[:3]}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:3]}")
        if wrong:
            k = wrong[0]
            parts.append(f"'{k}' is {tuple(weights[k].shape)}, model has {tuple(own[k].shape)}")
        raise CheckpointError(f"{where} does not match the architecture: " + "; ".join(parts))
    module.load_state_dict(weights)


def _describe(spec: dict) -> str:
    args = {k: v for k, v in spec.items() if k != "name"}
    return f"a '{spec.get('name')}' model {args}"
