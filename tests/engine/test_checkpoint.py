from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

from advkt.engine import checkpoint as ckpt


class Holder(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.student = nn.Linear(3, width)
        self.disc = nn.Linear(width, 1)


def _state(epoch):
    return {"epoch": epoch, "optimizers": {}, "rng_cpu": torch.get_rng_state()}


def test_round_trip_and_pointers(tmp_path):
    m = Holder()
    spec = {"name": "lin", "width": 4}
    ckpt.save(tmp_path, "e0001", m, spec, _state(1), ("last", "best"))
    ckpt.save(tmp_path, "e0002", m, spec, _state(2), ("last",))
    assert ckpt.resolve(tmp_path).name == "e0002"
    assert ckpt.resolve(tmp_path, "best").name == "e0001"
    ckpt.save(tmp_path, "e0003", m, spec, _state(3), ("last", "best"))
    # e0001 is no longer pointed to and is removed; e0002, the one before the newest, is kept
    assert sorted(d.name for d in (tmp_path / "ckpt").iterdir() if d.is_dir()) == [
        "e0002",
        "e0003",
    ]
    assert ckpt.resolve(tmp_path, "prev").name == "e0002"
    m2 = Holder()
    state = ckpt.load_method(m2, ckpt.resolve(tmp_path))
    assert state["epoch"] == 3
    for a, b in zip(m.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    only_student = nn.Linear(3, 4)
    ckpt.load_model_weights(only_student, ckpt.resolve(tmp_path), expected_spec=spec)
    assert torch.equal(only_student.weight, m.student.weight)


def test_crash_during_write_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    m = Holder()
    ckpt.save(tmp_path, "e0001", m, {"name": "lin"}, _state(1))

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        ckpt.save(tmp_path, "e0002", m, {"name": "lin"}, _state(2))
    monkeypatch.undo()
    good = ckpt.resolve(tmp_path)
    assert good.name == "e0001"
    assert ckpt.load_method(Holder(), good)["epoch"] == 1


def test_mismatched_architecture_is_a_clear_error(tmp_path):
    ckpt.save(tmp_path, "e0001", Holder(4), {"name": "lin", "width": 4}, _state(1))
    where = ckpt.resolve(tmp_path)
    with pytest.raises(ckpt.CheckpointError, match="holds a 'lin' model .* was asked for"):
        ckpt.load_model_weights(nn.Linear(3, 8), where, expected_spec={"name": "lin", "width": 8})
    with pytest.raises(ckpt.CheckpointError, match="does not match the architecture"):
        ckpt.load_model_weights(nn.Linear(3, 8), where)
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint"):
        ckpt.resolve(tmp_path / "elsewhere")


def test_state_file_refuses_code(tmp_path):
    """state.pt is read with weights_only=True: a pickle that would run code is refused."""
    ckpt.save(tmp_path, "e0001", Holder(), {"name": "lin"}, _state(1))
    where = ckpt.resolve(tmp_path)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"epoch": Evil()}, where / "state.pt")
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported global"):
        ckpt.load_method(Holder(), where)


def test_best_of_a_run_without_validation_says_why_it_is_missing(tmp_path):
    from advkt.engine import checkpoint as ckpt

    m = torch.nn.Linear(2, 2)
    ckpt.save(tmp_path, "e0001", m, {"name": "x"}, {"epoch": 1}, ("last",))
    with pytest.raises(ckpt.CheckpointError, match="chosen on a validation split"):
        ckpt.resolve(tmp_path, "best")


def test_files_and_folders_are_flushed_before_they_are_pointed_to(tmp_path, monkeypatch):
    synced = []
    import advkt.atomic

    real = advkt.atomic.fsync

    def record(p):
        synced.append(Path(p).name)
        real(p)

    monkeypatch.setattr(advkt.atomic, "fsync", record)
    monkeypatch.setattr(ckpt, "fsync", record)
    ckpt.save(tmp_path, "e0001", Holder(), {"name": "lin"}, _state(1), ("last",))
    for name in ("model.safetensors", "method.safetensors", "spec.json", "state.pt"):
        assert name in synced
    tmp_dir = next(n for n in synced if n.startswith(".e0001.tmp"))  # the folder, pre-rename
    ptr = next(n for n in synced if n.startswith(".last.tmp"))
    assert synced.index(tmp_dir) < synced.index("ckpt") < synced.index(ptr)
    assert synced[-1] == "ckpt"  # the pointer's rename is flushed too


def test_leftovers_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    root = tmp_path / "ckpt"
    dead = root / ".e0007.tmp999999999"  # no such process
    (dead).mkdir(parents=True)
    (dead / "model.safetensors").write_bytes(b"x" * 100)
    (root / ".last.tmp999999999").write_text("e0007\n")
    (root / ".e0006.old999999999").mkdir()
    live = root / f".e0008.tmp{os.getppid()}"  # a writer that is still running
    live.mkdir()
    ckpt.save(tmp_path, "e0001", Holder(), {"name": "lin"}, _state(1))
    names = sorted(p.name for p in root.iterdir())
    assert names == sorted([live.name, "e0001", "last"])


def test_a_newest_checkpoint_that_does_not_load_falls_back_to_the_previous(tmp_path, capsys):
    m = Holder()
    ckpt.save(tmp_path, "e0001", m, {"name": "lin"}, _state(1))
    ckpt.save(tmp_path, "e0002", Holder(), {"name": "lin"}, _state(2))
    (tmp_path / "ckpt" / "e0002" / "state.pt").write_bytes(b"PK\x03\x04 cut short")
    m2 = Holder()
    state, used = ckpt.load_resumable(m2, tmp_path)
    assert used.name == "e0001" and state["epoch"] == 1
    assert torch.equal(m2.student.weight, m.student.weight)
    err = capsys.readouterr().err
    assert "newest checkpoint does not load" in err and "e0001" in err
    assert "weights_only=False" not in err
    (tmp_path / "ckpt" / "e0001" / "model.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(ckpt.CheckpointError, match="cannot read the weights .*model.safetensors"):
        ckpt.load_resumable(Holder(), tmp_path)
