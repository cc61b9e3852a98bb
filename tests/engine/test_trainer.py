"""The loop: exact resume, the NaN guard, and the summary and metrics a run folder holds."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from advkt.engine.optim import lr_factor
from advkt.engine.splits import load_splits
from advkt.engine.teacher import build_teacher
from advkt.engine.trainer import DivergenceError, train, train_teacher
from advkt.methods.base import Batch
from advkt.methods.kd import KD
from advkt.recipe import RecipeError, load_recipe
from advkt.registry import METHODS, register_method

from .toy import toy_recipe


def _weights(run):
    ptr = (run / "ckpt" / "last").read_text().strip()
    return load_file(str(run / "ckpt" / ptr / "model.safetensors"))


def test_run_folder_holds_recipe_metrics_summary_and_checkpoints(tmp_path):
    r = load_recipe(base=toy_recipe(tmp_path, "kd", epochs=2))
    s = train(r, run_dir=tmp_path / "run", quiet=True)
    run = tmp_path / "run"
    assert json.loads((run / "recipe.json").read_text())["method"]["name"] == "kd"
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2]
    assert {"test_acc", "student/loss", "student/kd", "student/ce"} <= set(lines[0])
    assert s["test_acc"] == lines[-1]["test_acc"]
    assert s["params"] == sum(v.numel() for v in _weights(run).values())
    assert s["teacher_acc"] > 90  # the toy blobs are separable; the teacher learnt them


def test_cached_teacher_is_reused_and_retrained_when_its_weights_are_gone(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))  # teachers train into the cache
    import shutil

    r = load_recipe(base=toy_recipe(tmp_path, "kd", epochs=1))
    data = load_splits(r).train
    train_teacher(r, quiet=True)
    (run,) = (tmp_path / "teachers").iterdir()
    first = (run / "summary.json").stat().st_mtime_ns
    train_teacher(r, quiet=True)  # cached: not trained again
    assert (run / "summary.json").stat().st_mtime_ns == first
    shutil.rmtree(run / "ckpt")  # as in a clean clone of committed results
    train_teacher(r, quiet=True)
    teacher = build_teacher(r, data)
    assert (run / "ckpt" / "last").is_file() and (run / "summary.json").stat().st_mtime_ns > first
    assert not any(p.requires_grad for p in teacher.parameters())


def test_killed_teacher_continues_from_its_checkpoint(tmp_path, monkeypatch):
    """A teacher run killed mid-way (a time-limited GPU call) continues where it stopped, and
    ends with the weights of an uninterrupted one."""
    import advkt.engine.trainer as trainer

    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "straight"))
    tree = toy_recipe(tmp_path, "kd", epochs=1)
    tree["teacher"]["train"] = {"epochs": 3}
    train_teacher(load_recipe(base=tree), quiet=True)
    (straight,) = (tmp_path / "straight" / "teachers").iterdir()

    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "killed"))
    real_epoch = trainer.train_epoch

    def killed_in_epoch_3(run, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return real_epoch(run, epoch)

    monkeypatch.setattr(trainer, "train_epoch", killed_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        train_teacher(load_recipe(base=tree), quiet=True)
    trained = []
    monkeypatch.setattr(
        trainer, "train_epoch", lambda run, e: trained.append(e) or real_epoch(run, e)
    )
    (killed,) = (tmp_path / "killed" / "teachers").iterdir()
    assert not (killed / "summary.json").exists()
    train_teacher(load_recipe(base=tree), quiet=True)
    assert trained == [2]  # epochs 1-2 are not trained again
    lines = [json.loads(x) for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2, 3]
    a, b = _weights(straight), _weights(killed)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_resume_continues_exactly(tmp_path, monkeypatch):
    import advkt.engine.trainer as trainer

    tree = toy_recipe(tmp_path, "kd", epochs=4)
    tree["train"]["schedule"] = {"name": "cosine"}
    straight = tmp_path / "straight"
    train(load_recipe(base=tree), run_dir=straight, quiet=True)

    real_epoch = trainer.train_epoch

    def killed_in_epoch_3(run, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return real_epoch(run, epoch)

    stopped = tmp_path / "stopped"
    monkeypatch.setattr(trainer, "train_epoch", killed_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        train(load_recipe(base=tree), run_dir=stopped, quiet=True)
    monkeypatch.undo()
    assert (stopped / "ckpt" / "last").read_text().strip() == "e0002"
    train(None, resume=stopped, quiet=True)

    a, b = _weights(straight), _weights(stopped)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    epochs = [
        json.loads(x)["epoch"] for x in (stopped / "metrics.jsonl").read_text().split("\n") if x
    ]
    assert epochs == [1, 2, 3, 4]


class _Exploding(KD):
    """KD whose loss turns to NaN from the second epoch on."""

    def student_loss(self, batch: Batch) -> dict:
        out = super().student_loss(batch)
        if batch.epoch >= 1:
            out["kd"] = out["kd"] * float("nan")
            out["loss"] = out["loss"] + out["kd"]
        return out


def test_nan_guard_names_the_loss_and_keeps_the_last_good_checkpoint(tmp_path):
    if "exploding" not in METHODS._items:
        register_method("exploding")(_Exploding)
    r = load_recipe(base=toy_recipe(tmp_path, "exploding", epochs=3))
    run = tmp_path / "run"
    with pytest.raises(
        DivergenceError,
        match=r"loss 'student/kd' became non-finite \(nan or inf\) at epoch 2, step 1 ",
    ) as err:
        train(r, run_dir=run, quiet=True)
    assert "last good checkpoint" in str(err.value)
    assert (run / "ckpt" / "last").read_text().strip() == "e0001"
    assert all(torch.isfinite(v).all() for v in _weights(run).values())


def test_lr_schedules():
    r = load_recipe(
        base={
            "method": {"name": "kd"},
            "student": {"model": "mlp"},
            "data": {"dataset": "toy"},
            "train": {
                "epochs": 10,
                "schedule": {"name": "step", "milestones": [5, 8], "warmup_epochs": 1},
            },
        }
    )
    assert lr_factor(r, 0.5) == pytest.approx(0.5)
    assert lr_factor(r, 4.9) == 1.0 and lr_factor(r, 5.0) == pytest.approx(0.1)
    assert lr_factor(r, 9.0) == pytest.approx(0.01)
    c = r.model_copy(
        update={
            "train": r.train.model_copy(
                update={
                    "schedule": r.train.schedule.model_copy(
                        update={"name": "cosine", "warmup_epochs": 0}
                    )
                }
            )
        }
    )
    assert lr_factor(c, 0) == pytest.approx(1.0) and lr_factor(c, 5) == pytest.approx(0.5)


def test_unknown_method_argument_lists_the_valid_ones(tmp_path):
    from advkt.recipe import RecipeError

    tree = toy_recipe(tmp_path, "kd", epochs=1)
    tree["method"]["args"] = {"temperature": 3}
    with pytest.raises(RecipeError, match="'method.args.temperature'.*valid: T, ce_weight"):
        train(load_recipe(base=tree), run_dir=tmp_path / "r", quiet=True)


def test_bf16_autocast_runs_on_cpu_and_fp16_needs_cuda(tmp_path):
    from advkt.engine.precision import autocast_for
    from advkt.recipe import RecipeError

    with pytest.warns(UserWarning) if not _native_bf16() else _no_warning():
        autocast, scaler = autocast_for(torch.device("cpu"), "bf16")
    assert scaler is None
    with autocast():
        y = torch.nn.Linear(4, 3)(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16  # the autocast is live on the CPU, not a no-op
    with pytest.raises(RecipeError, match="fp16 needs a CUDA device"):
        autocast_for(torch.device("cpu"), "fp16")
    tree = toy_recipe(tmp_path, "kd", epochs=1)
    tree["train"]["amp"] = "bf16"
    with pytest.warns(UserWarning) if not _native_bf16() else _no_warning():
        s = train(load_recipe(base=tree), run_dir=tmp_path / "run", quiet=True)
    assert s["test_acc"] > 50


def _native_bf16() -> bool:
    from advkt.engine.precision import cpu_has_native_bf16

    return cpu_has_native_bf16()


def _no_warning():
    import contextlib

    return contextlib.nullcontext()


def test_best_checkpoint_is_chosen_on_the_validation_split_never_on_test(tmp_path):
    tree = toy_recipe(tmp_path, "student", epochs=3)
    tree["data"]["validation"] = 0.25
    r = load_recipe(base=tree)
    data = load_splits(r)
    assert len(data.val) == 64 and len(data.train) == 192 and len(data.test) == 256
    s = train(r, run_dir=tmp_path / "run", quiet=True)
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    val = [x["val_acc"] for x in lines]
    assert s["best_epoch"] == 1 + val.index(max(val)) and s["best_val_acc"] == max(val)
    assert s["val_acc"] == val[-1] and s["test_acc"] == lines[-1]["test_acc"]
    ptr = (tmp_path / "run" / "ckpt" / "best").read_text().strip()
    assert ptr == f"e{s['best_epoch']:04d}"
    # without a validation split there is no "best": the test split chooses nothing
    s = train(load_recipe(base=toy_recipe(tmp_path, "student", epochs=2)), run_dir=tmp_path / "b")
    assert s["best_epoch"] is None and s["val_acc"] is None
    assert not (tmp_path / "b" / "ckpt" / "best").exists()


def test_teacher_takes_its_own_train_overrides_and_its_cache_key_follows(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))  # teachers train into the cache
    r = load_recipe(base=toy_recipe(tmp_path, "kd", epochs=1))
    train_teacher(r, quiet=True)
    r2 = load_recipe(
        base=toy_recipe(tmp_path, "kd", epochs=1), overrides=["teacher.train.epochs=3"]
    )
    train_teacher(r2, quiet=True)
    runs = sorted((tmp_path / "teachers").iterdir())
    assert len(runs) == 2  # two cache entries: the overridden teacher is another teacher
    epochs = sorted(json.loads((run / "summary.json").read_text())["epochs"] for run in runs)
    assert epochs == [1, 3]  # the teacher recipe's own epoch, and the override's 3
    # the student's train.* never reaches the teacher
    r3 = load_recipe(base=toy_recipe(tmp_path, "kd", epochs=1), overrides=["train.epochs=5"])
    train_teacher(r3, quiet=True)
    assert len(list((tmp_path / "teachers").iterdir())) == 2


def test_committed_teacher_folder_is_found_relative_to_the_recipe(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))  # teachers train into the cache
    import shutil

    import yaml

    r = load_recipe(base=toy_recipe(tmp_path, "kd", epochs=1))
    data = load_splits(r).train
    train_teacher(r, quiet=True)
    (run,) = (tmp_path / "teachers").iterdir()
    from advkt.engine import checkpoint as ckpt

    where = ckpt.resolve(run)
    committed = tmp_path / "teachers_dir" / "toy"
    committed.mkdir(parents=True)
    for f in ("model.safetensors", "spec.json"):
        shutil.copyfile(where / f, committed / f)
    tree = toy_recipe(tmp_path, "kd", epochs=1)
    tree["teacher"] = {**tree["teacher"], "checkpoint": "teachers_dir/toy", "recipe": None}
    (tmp_path / "recipes").mkdir()
    path = tmp_path / "recipes" / "kd.yaml"
    tree["teacher"]["checkpoint"] = "../teachers_dir/toy"
    path.write_text(yaml.safe_dump(tree))
    r = load_recipe(path)
    assert r.teacher.checkpoint == str(committed.resolve())
    train_teacher(r, quiet=True)
    teacher = build_teacher(r, data)
    torch.testing.assert_close(
        teacher.state_dict(),
        {k: v for k, v in load_file(str(committed / "model.safetensors")).items()},
    )


# hksanc: the table holds its squeezed teacher descriptors (Method.teacher_rows), not features
@pytest.mark.parametrize("method", ["kd", "fitnet", "hksanc"])
def test_cached_teacher_outputs_train_as_the_teacher_run_on_every_batch(tmp_path, method):
    runs = {}
    for cache in (True, False):
        tree = toy_recipe(tmp_path, method, epochs=2)
        tree["train"]["cache_teacher"] = cache
        if method == "hksanc":  # the mnist1d recipe's weights (the paper's diverge at lr 0.05)
            tree["method"]["args"] = {"logit_loss": "kl", "ce_weight": 0.1, "lambda_b": 0.9}
            tree["method"]["args"]["lambda_is"] = 0.001
        train(load_recipe(base=tree), run_dir=tmp_path / f"c{cache}", quiet=True)
        runs[cache] = _weights(tmp_path / f"c{cache}")
    for k in runs[True]:
        torch.testing.assert_close(runs[True][k], runs[False][k], rtol=1e-4, atol=1e-5)


def test_teacher_table_holds_every_sample_and_refuses_past_its_memory_cap(tmp_path):
    from advkt.engine.batches import TeacherTable

    r = load_recipe(base=toy_recipe(tmp_path, "fitnet", epochs=1))
    data = load_splits(r).train
    train_teacher(r, quiet=True)
    teacher = build_teacher(r, data)
    table = TeacherTable.build(teacher, data, True, _no_warning, batch_size=100)
    idx = torch.tensor([3, 250, 0])
    logits, feats, _ = table(idx)
    from advkt.data.augment import to_float

    want, want_f = teacher(to_float(data.x[idx], data.mean, data.std), features=True)
    torch.testing.assert_close(logits, want)
    torch.testing.assert_close(feats.stages[-1], want_f.stages[-1])
    assert TeacherTable.build(teacher, data, True, _no_warning, 100, max_bytes=1000) is None


def test_resuming_a_finished_run_keeps_its_figures(tmp_path):
    tree = toy_recipe(tmp_path, "student", epochs=2)
    tree["data"]["validation"] = 0.25
    first = train(load_recipe(base=tree), run_dir=tmp_path / "run", quiet=True)
    again = train(None, resume=tmp_path / "run", quiet=True)
    assert again["test_acc"] == first["test_acc"] and again["val_acc"] == first["val_acc"]
    assert (
        json.loads((tmp_path / "run" / "summary.json").read_text())["test_acc"] == first["test_acc"]
    )


def test_a_run_killed_before_its_first_checkpoint_resumes_from_the_start(tmp_path, capsys):
    from advkt.recipe import save_recipe

    tree = toy_recipe(tmp_path, "kd", epochs=2)
    straight = tmp_path / "straight"
    first = train(load_recipe(base=tree), run_dir=straight, quiet=True)
    early = tmp_path / "early"  # what a kill during the first epoch leaves: the recipe only
    early.mkdir()
    save_recipe(load_recipe(base=tree), early / "recipe.json")
    (early / "metrics.jsonl").write_text('{"epoch": 1, "partial": true}\n')
    again = train(None, resume=early, quiet=True)
    assert "has no checkpoint yet: starting it again" in capsys.readouterr().err
    assert again["test_acc"] == first["test_acc"]
    a, b = _weights(straight), _weights(early)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert "partial" not in (early / "metrics.jsonl").read_text()


def test_tensorboard_events_hold_the_metrics_and_a_resume_drops_redone_epochs(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tree = toy_recipe(tmp_path, "kd", epochs=3)
    tree["train"]["tensorboard"] = True
    run = tmp_path / "run"
    train(load_recipe(base=tree), run_dir=run, quiet=True)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]

    def scalars(tag):
        acc = EventAccumulator(str(run / "tensorboard"))
        acc.Reload()
        return [(e.step, e.value) for e in acc.Scalars(tag)]

    assert scalars("test_acc") == [(x["epoch"], pytest.approx(x["test_acc"])) for x in lines]
    assert [s for s, _ in scalars("student/loss")] == [1, 2, 3]
    # resumed from epoch 2 (as after a kill during epoch 3): epoch 3 is written again, not twice
    (run / "ckpt" / "last").write_text((run / "ckpt" / "prev").read_text())
    assert (run / "ckpt" / "last").read_text().strip() == "e0002"
    (run / "summary.json").unlink()
    train(None, resume=run, quiet=True)
    assert [s for s, _ in scalars("test_acc")] == [1, 2, 3]
    assert [json.loads(x)["epoch"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [
        1,
        2,
        3,
    ]


def test_a_teacher_recipe_is_trained_once_for_every_output_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    for out in ("a", "b"):
        (tmp_path / out).mkdir()
        r = load_recipe(base=toy_recipe(tmp_path / out, "kd", epochs=1))
        train_teacher(r, quiet=True)
    (run,) = (tmp_path / "cache" / "teachers").iterdir()
    assert not (tmp_path / "a" / "teachers").exists() and not (tmp_path / "b" / "teachers").exists()


def test_an_unknown_optimiser_in_a_methods_own_spec_is_an_error(tmp_path):
    from advkt.engine.optim import build_optimizers
    from advkt.recipe import RecipeError

    class Odd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(2))

        def param_groups(self):
            return {"disc": ([self.w], {"name": "rmsprop", "lr": 0.1})}

    r = load_recipe(base=toy_recipe(tmp_path, "kd", epochs=1))
    with pytest.raises(RecipeError, match="optimiser 'rmsprop' of parameter group 'disc'"):
        build_optimizers(Odd(), r)


def test_sgd_is_the_multi_tensor_update_and_matches_the_loop_with_a_late_gradient(tmp_path):
    """The recipe's SGD is built with foreach (one kernel per update op on CPU) and gives the
    loop's numbers bit for bit, also for a parameter whose first gradient comes after the others
    have momentum (the case that rules fused SGD out)."""
    from advkt.engine.optim import build_optimizers

    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))

        def param_groups(self):
            return {"student": ([self.a, self.b], None)}

    tree = toy_recipe(tmp_path, "kd", epochs=1)
    tree["train"]["optimizer"] = {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True,
                                  "weight_decay": 1e-3}  # fmt: skip
    m, ref = Two(), Two()
    opt = build_optimizers(m, load_recipe(base=tree))[0]["student"]
    assert opt.defaults["foreach"] is True
    loop = torch.optim.SGD([ref.a, ref.b], lr=0.1, momentum=0.9, nesterov=True,
                           weight_decay=1e-3, foreach=False)  # fmt: skip
    for step in range(5):
        for net, o in ((m, opt), (ref, loop)):
            o.zero_grad(set_to_none=True)
            loss = (net.a**2).sum() + ((net.b**3).sum() if step >= 2 else 0)
            loss.backward()
            o.step()
    assert torch.equal(m.a, ref.a) and torch.equal(m.b, ref.b)


def test_an_untrained_teacher_recipe_is_refused_by_build_teacher_and_trained_by_train(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    r = load_recipe(base=toy_recipe(tmp_path, "kd", epochs=1))
    data = load_splits(r).train
    with pytest.raises(RecipeError, match="is not trained yet .*advkt train and advkt compare"):
        build_teacher(r, data)
    train(r, run_dir=tmp_path / "kd", quiet=True)  # trains the teacher first, then the student
    assert not any(p.requires_grad for p in build_teacher(r, data).parameters())


def test_channels_last_trains_the_same_numbers_in_nhwc(tmp_path, monkeypatch):
    import yaml

    from advkt.engine.run import setup

    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))  # teachers train into the cache
    base = {
        "data": {"dataset": "toy_img"},
        "train": {"epochs": 2, "batch_size": 32, "schedule": {"name": "constant"}},
        "out": str(tmp_path),
    }
    teacher_yaml = tmp_path / "teacher.yaml"
    teacher_net = {"model": "cnn_small", "args": {"width": 4}}
    teacher_yaml.write_text(
        yaml.safe_dump({**base, "method": {"name": "student"}, "student": teacher_net})
    )
    tree = {
        **base,
        "method": {"name": "kd"},
        "student": {"model": "cnn_small", "args": {"width": 2}},
        "teacher": {**teacher_net, "recipe": str(teacher_yaml)},
    }
    runs = {}
    for cl in (False, True):
        r = load_recipe(base=tree, overrides=[f"train.channels_last={str(cl).lower()}"])
        train_teacher(r, quiet=True)
        run = setup(r, run_dir=tmp_path / f"setup{cl}", quiet=True)
        for net in (run.method.student, run.teacher):
            conv = net.stages[0][0][0].weight  # (w, w, 3, 3): the two layouts differ
            assert conv.is_contiguous(memory_format=torch.channels_last) is cl
            assert conv.is_contiguous() is not cl
        train(r, run_dir=tmp_path / f"cl{cl}", quiet=True)
        runs[cl] = _weights(tmp_path / f"cl{cl}")
    for k, v in runs[False].items():
        torch.testing.assert_close(runs[True][k], v, atol=1e-4, rtol=1e-3)


def test_the_schedule_counts_the_epochs_real_steps_with_domain_batches(tmp_path, monkeypatch):
    """Domain-adaptation batches (an epoch = one pass over the source, 1 : 1 : 2 shares) are
    not len(train) // batch_size steps: the LR schedule and the finite checks must count the
    steps the epoch has (it once ran up to 3.7 epochs ahead within an epoch)."""
    from advkt.methods.student import Student

    lrs = []
    monkeypatch.setattr(Student, "after_step", lambda self, name, lr: lrs.append(lr))
    tree = toy_recipe(tmp_path, "student", epochs=1)
    tree["data"] = {"dataset": "toy_da", "target_shots": 2}
    tree["train"]["schedule"] = {"name": "cosine"}
    train(load_recipe(base=tree), run_dir=tmp_path / "run", quiet=True)
    # source: 128 rows, 8 a batch (a quarter of 32): 16 steps; len(train) // 32 would be 7
    assert len(lrs) == 16
    assert all(a > b > 0 for a, b in zip(lrs, lrs[1:]))  # one cosine over the 16 steps
    assert lrs[-1] == pytest.approx(0.05 * 0.5 * (1 + math.cos(math.pi * 15 / 16)))


def test_max_norm_bounds_every_units_incoming_weights_after_each_step(tmp_path):
    """train.max_norm: every weight row of the trained student ends with L2 norm <= c, where the
    same run without it has rows above c; biases are left alone."""
    rows = {}
    for c in (None, 0.5):
        tree = toy_recipe(tmp_path, "student", epochs=2)
        tree["train"]["max_norm"] = c
        train(load_recipe(base=tree), run_dir=tmp_path / f"c{c}", quiet=True)
        w = _weights(tmp_path / f"c{c}")
        rows[c] = torch.cat([v.flatten(1).norm(dim=1) for v in w.values() if v.ndim >= 2])
    assert rows[None].max() > 0.6  # the constraint binds: without it, rows grow past c
    assert rows[0.5].max() <= 0.5 * (1 + 1e-5)


def test_max_norm_must_be_positive(tmp_path):
    from advkt.recipe import RecipeError

    tree = toy_recipe(tmp_path, "student", epochs=1)
    tree["train"]["max_norm"] = 0
    with pytest.raises(RecipeError, match="max_norm"):
        load_recipe(base=tree)
