"""HKSANC: supervision points, every loss term against a hand computation, switches, bad input,
the cached teacher-side estimators, and a 2-process run with the discriminator in sync."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from advkt.engine import checkpoint as ckpt
from advkt.engine.splits import load_splits
from advkt.engine.teacher import build_teacher
from advkt.engine.trainer import train, train_teacher
from advkt.methods.base import Batch, supervision_points
from advkt.methods.hksanc import HKSANC
from advkt.models import build_model
from advkt.recipe import load_recipe
from tests.engine.toy import toy_recipe


def _pair(student_hidden=(8, 8), teacher_hidden=(32, 32), **kw):
    s = build_model(
        {
            "name": "mlp",
            "num_classes": 4,
            "in_channels": 1,
            "in_size": 8,
            "ndim": 1,
            "hidden": list(student_hidden),
        }
    )
    t = build_model(
        {
            "name": "mlp",
            "num_classes": 4,
            "in_channels": 1,
            "in_size": 8,
            "ndim": 1,
            "hidden": list(teacher_hidden),
        }
    ).eval()
    x = torch.randn(6, 1, 8)
    return HKSANC(s, t, num_classes=4, example_input=x, **kw), x


def _batch(m, x, y):
    with torch.no_grad():
        t_logits, t_feats = m.teacher(x, features=True)
    return Batch(x=x, y=y, t_logits=t_logits, t_feats=t_feats)


def test_supervision_points_are_evenly_spaced_and_end_at_the_stage_output():
    assert supervision_points(3, 18, 3) == [(0, 5), (1, 11), (2, 17)]  # resnet20 <- resnet164
    assert supervision_points(3, 9, 1) == [(2, 8)]
    assert supervision_points(9, 18, 3) == [(2, 5), (5, 11), (8, 17)]


def test_student_loss_terms_match_a_hand_computation():
    torch.manual_seed(0)
    m, x = _pair(ce_weight=0.5)  # the defaults: sums (the paper's norms), detached g-hat
    y = torch.tensor([0, 1, 2, 3, -1, 1])
    b = _batch(m, x, y)
    out = m.student_loss(b)
    s, sf = m.student(x, features=True)
    t = b.t_logits
    assert out["b"].item() == pytest.approx(((s - t) ** 2).sum(1).mean().item(), rel=1e-5)
    adv_logit, cls = m.disc(torch.cat([t, s]))
    adv_s, cls_s = adv_logit[6:], cls[6:]
    lab = y >= 0
    expect_adv = (F.softplus(-adv_s).mean() + F.cross_entropy(cls_s[lab], y[lab])).item()
    assert out["adv"].item() == pytest.approx(expect_adv, rel=1e-5)
    # L_is by hand: squeeze each point explicitly through the estimators' own maths; the
    # student's g is the one its classifier reads, the teacher's its fitted descriptor
    l_is = 0.0
    g_t = m.t_side.desc["0"](b.t_feats.stages[-1])
    g_s = m.student.fc.proj(sf.pooled)
    assert len(m.s_side.desc) == 0  # no side-branch descriptor on the student
    for p, (k, js, jt) in enumerate(m._blocks):
        ft = b.t_feats.blocks[k][jt].flatten(2)
        fs = m.transforms[p](sf.blocks[k][js]).flatten(2)
        a = []
        for est, f, g in ((m.t_side.est[p], ft, g_t), (m.s_side.est[p], fs, g_s)):
            hat = f + est.guide(g).unsqueeze(2)
            w = torch.softmax(est.score(hat).squeeze(1), dim=1)
            a.append((hat * w.unsqueeze(1)).sum(2))
        l_is += ((a[1] - a[0]) ** 2).sum(1).mean().item()
    assert out["is"].item() == pytest.approx(l_is, rel=1e-5)
    ce = F.cross_entropy(s[lab], y[lab]).item()
    assert out["ce"].item() == pytest.approx(ce, rel=1e-5)
    total = out["b"] + out["adv"] + out["is"] + 0.5 * out["ce"]
    assert out["loss"].item() == pytest.approx(total.item(), rel=1e-6)


def test_norms_are_sums_by_default_and_means_as_a_switch():
    d = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    m, x = _pair()
    assert m.reduction == "sum"
    assert m._sq(d).item() == 15.0  # (1 + 4 + 9 + 16) / 2 samples
    mean, _ = _pair(reduction="mean")
    assert mean._sq(d).item() == 7.5  # each sample's sum over its 2 entries, divided by 2
    # L_b on logits fixed by hand: s - t = [1, -2, 0, 2] and [0, 0, 3, 0] -> (9 + 9) / 2
    student_logits = torch.tensor([[1.0, -2.0, 0.0, 2.0], [0.0, 0.0, 3.0, 0.0]])
    for method, expected in ((m, 9.0), (mean, 9.0 / 4)):
        b = Batch(x=x[:2], y=torch.tensor([0, 1]), t_logits=torch.zeros(2, 4))
        b.t_feats = m.teacher(x[:2], features=True)[1]
        b.cache["student_feats"] = (student_logits, method.student(x[:2], features=True)[1])
        assert method.student_loss(b)["b"].item() == pytest.approx(expected, rel=1e-6)


def test_student_logits_are_read_from_its_global_descriptor():
    torch.manual_seed(3)
    m, x = _pair()
    fc = m.student.fc
    assert fc.proj.out_features == 128 and fc.cls.in_features == 128
    b = _batch(m, x, torch.tensor([0, 1, 2, 3, 0, 1]))
    s, feats = m.student_forward(b, features=True)
    # what the engine evaluates (method.student(x)) is what the losses see
    assert torch.equal(m.student(x), s)
    torch.testing.assert_close(s, fc.cls(fc.proj(feats.pooled)))
    (grad,) = torch.autograd.grad(s.sum(), fc.proj.weight)
    assert grad.abs().sum() > 0
    # the descriptor head is part of the student: trained by its optimiser, counted, saved
    ids = {id(p) for p in m.param_groups()["student"][0]}
    assert id(fc.proj.weight) in ids and id(fc.cls.weight) in ids
    assert {"fc.proj.weight", "fc.cls.weight"} <= set(m.student.state_dict())
    spec = m.student_spec({"name": "mlp", "num_classes": 4, "in_channels": 1})
    assert spec["name"] == "descriptor_head" and spec["backbone"]["name"] == "mlp"
    assert spec["dim"] == 128
    # the switch off: the backbone's own classifier, and a side-branch descriptor
    off, _ = _pair(student_g_head=False)
    assert isinstance(off.student.fc, torch.nn.Linear) and len(off.s_side.desc) == 1
    assert off.student_spec({"name": "mlp"}) == {"name": "mlp"}


def test_g_hat_enters_the_descriptor_but_passes_no_gradient_around_the_features():
    torch.manual_seed(4)
    on, x = _pair(detach_hat=True)
    off = HKSANC(on.student, on.teacher, 4, x, detach_hat=False)  # reuses the student's head
    off.load_state_dict(on.state_dict())
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    grads = []
    for m in (on, off):
        out = m.student_loss(_batch(m, x, y))
        est = m.s_side.est[0]
        # allow_unused: detached, the guide is not in L_is's graph at all (no gradient = zero)
        g = torch.autograd.grad(
            out["is"], [est.guide.weight, m.student.fc.proj.weight], allow_unused=True
        )
        grads.append((*(torch.zeros(1) if v is None else v for v in g), out["is"].item()))
    assert grads[0][2] == pytest.approx(grads[1][2], rel=1e-6)  # the same value: a = sum M L-hat
    # an MLP point has one position, so M = 1 and g-hat reaches a only through the direct term:
    # detached, neither the guide nor the student's g can lower L_is; attached, both can
    assert grads[0][0].abs().sum() == 0 and grads[0][1].abs().sum() == 0
    assert grads[1][0].abs().sum() > 0 and grads[1][1].abs().sum() > 0


def test_disc_loss_terms_match_a_hand_computation():
    torch.manual_seed(1)
    m, x = _pair(mu=0.5)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    b = _batch(m, x, y)
    out = m.disc_loss(b)
    s = m.student(x)
    adv, cls = m.disc(torch.cat([b.t_logits, s.detach()]))
    real, fake = adv[:6], adv[6:]
    gan = (F.softplus(-real).mean() + F.softplus(fake).mean()).item()  # BCE(real,1)+BCE(fake,0)
    assert out["adv"].item() == pytest.approx(gan, rel=1e-5)
    ws = [p for p in m.disc.parameters() if p.ndim >= 2]
    pen = sum(w.abs().sum() for w in ws) + sum((w**2).sum() for w in ws)  # sums, as written
    reg = 0.5 * (pen + F.softplus(-fake).mean())
    assert out["reg"].item() == pytest.approx(reg.item(), rel=1e-5)
    c = F.cross_entropy(cls[:6], y) + F.cross_entropy(cls[6:], y)
    assert out["cls"].item() == pytest.approx(c.item(), rel=1e-5)


def test_weight_penalty_of_a_tiny_discriminator_by_hand():
    torch.manual_seed(2)
    x = torch.randn(6, 1, 8)
    b = None
    for reduction, expected in (("sum", 36 * 0.5 + 36 * 0.25), ("mean", 0.5 + 0.25)):
        m, _ = _pair(mu=1.0, d_hidden=3, class_adv=False, reduction=reduction)
        with torch.no_grad():  # every parameter of D, biases and batch norms too, set to 0.5
            for p in m.disc.parameters():
                p.fill_(0.5)
        # D's weight matrices: 4->3, 3->3, 3->(1+4): 12 + 9 + 15 = 36 entries; biases and BN
        # scales/shifts are not penalised
        b = _batch(m, x, torch.zeros(6, dtype=torch.long))
        out = m.disc_loss(b)
        (_, fake), _ = m.judge(b.t_logits, m.student(x).detach())
        pen = out["reg"].item() - F.softplus(-fake).mean().item()
        assert pen == pytest.approx(expected, rel=1e-5)


def test_switches_drop_their_terms():
    m, x = _pair(lambda_is=0, class_adv=False, mu=0)
    b = _batch(m, x, torch.zeros(6, dtype=torch.long))
    assert set(m.student_loss(b)) == {"b", "adv", "loss"}
    assert set(m.disc_loss(b)) == {"adv", "loss"}
    m2, _ = _pair(lambda_adv=0)
    assert [name for name, _ in m2.steps()] == ["student"]
    m3, _ = _pair(use_hat=False, guide="next")
    assert not m3.s_side.est[0].use_hat and m3.s_side.sources == [1, 1]


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="student has 1 stages and the teacher 2"):
        _pair(student_hidden=(8,))
    with pytest.raises(ValueError, match="points_per_stage=2 but stage 1 has 1 student"):
        _pair(points_per_stage=2)
    with pytest.raises(ValueError, match="guide must be 'head' or 'next'"):
        _pair(guide="tail")
    with pytest.raises(ValueError, match="logit_loss must be 'mse' or 'kl'"):
        _pair(logit_loss="l1")
    with pytest.raises(ValueError, match="temperature T must be > 0"):
        _pair(logit_loss="kl", T=0)


def test_kl_logit_loss_is_kd_soft_term_by_hand():
    """logit_loss="kl" (ours): L_b = T^2 KL(softmax(t/T) || softmax(s/T)), averaged over the
    batch, computed here from the definition; the other terms are those of the MSE form."""
    torch.manual_seed(1)
    m, x = _pair(logit_loss="kl", T=3.0)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    b = _batch(m, x, y)
    out = m.student_loss(b)
    s, t = m.student(x), b.t_logits
    pt, log_ps = torch.softmax(t / 3, 1), torch.log_softmax(s / 3, 1)
    kl = (pt * (pt.log() - log_ps)).sum(1).mean() * 9
    assert out["b"].item() == pytest.approx(kl.item(), rel=1e-5)
    m.logit_loss = "mse"  # the same networks and batch, the paper's form
    other = m.student_loss(_batch(m, x, y))
    assert out["b"].item() != pytest.approx(other["b"].item())
    assert out["adv"].item() == pytest.approx(other["adv"].item(), rel=1e-6)
    assert out["is"].item() == pytest.approx(other["is"].item(), rel=1e-6)


def test_teacher_checkpoint_of_another_architecture_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))  # teachers train into the cache
    tree = toy_recipe(tmp_path, "hksanc", epochs=1)
    r = load_recipe(base=tree)
    train_teacher(r, quiet=True)  # trains the 32-32 teacher
    run = next((tmp_path / "teachers").iterdir())
    tree["teacher"] = {
        "model": "mlp",
        "args": {"hidden": [16, 16], "in_size": 8, "ndim": 1},
        "checkpoint": str(run),
    }
    with pytest.raises(ckpt.CheckpointError, match="holds a 'mlp' model .* was asked for"):
        train(load_recipe(base=tree), run_dir=tmp_path / "bad", quiet=True)


def _toy(tmp_path, epochs, **args) -> dict:
    """The toy recipe for HKSANC, on Adam: the paper's sums make the raw-logit regression K
    times (and L_is C_t times) steeper than means, and SGD at the toy's lr 0.05 diverges (as
    it does on the MNIST-1D pair; docs/methods/hksanc.md); the CPU recipes use Adam too."""
    tree = toy_recipe(tmp_path, "hksanc", epochs=epochs)
    tree["train"]["optimizer"] = {"name": "adam", "lr": 0.01, "weight_decay": 0.0}
    tree["method"]["args"] = {"estimator_epochs": 1, **args}
    return tree


def test_trains_and_caches_the_teacher_side(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    tree = _toy(tmp_path, 2)
    s1, m1 = train(load_recipe(base=tree), run_dir=tmp_path / "a", quiet=True, return_method=True)
    cached = list((tmp_path / "cache").glob("hksanc-teacher-*.safetensors"))
    assert len(cached) == 1
    assert s1["test_acc"] > 40  # four classes: chance is 25 %
    # a second run with another seed reuses the same teacher-side estimators: the engine
    # fits them on seed 0's batches whatever the seed
    tree["seed"] = 7
    _, m2 = train(load_recipe(base=tree), run_dir=tmp_path / "b", quiet=True, return_method=True)
    assert len(list((tmp_path / "cache").glob("hksanc-teacher-*.safetensors"))) == 1
    for (k, a), b in zip(m1.t_side.state_dict().items(), m2.t_side.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)
    assert not any(p.requires_grad for p in m2.t_side.parameters())
    # ... and a run whose cache entry is gone fits the very same parts again
    cached[0].unlink()
    _, m3 = train(load_recipe(base=tree), run_dir=tmp_path / "c", quiet=True, return_method=True)
    for (k, a), b in zip(m2.state_dict().items(), m3.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)


def test_cache_key_names_the_data_set_and_the_fit(tmp_path, monkeypatch):
    from advkt.engine.batches import prepare_stream

    m, _ = _pair()
    r = load_recipe(base=_toy(tmp_path, 1))
    data = load_splits(r).train
    base = prepare_stream(r, data, 1, torch.device("cpu"), None)[2]
    key = m.teacher_key(base)
    assert key == m.teacher_key(dict(base))
    changed = {
        "dataset": "toy2",
        "args": {"n": 128},
        "validation": 0.1,
        "train_subset": 100,
        "samples": 100,
        "content": "0" * 20,
        "augment": {"flip": True},
        "batch_size": 16,
        "world_size": 2,
        "amp": "bf16",
    }
    for k, v in changed.items():
        assert m.teacher_key({**base, k: v}) != key, k
    assert m.teacher_key({**base, "labelled_fraction": 0.1}) == key  # the fit reads no label
    assert m.teacher_key(base) != m.teacher_key(None)
    other, _ = _pair(use_hat=False)  # another configuration, another teacher: other keys
    assert other.teacher_key(base) != key
    # the engine's stream: the data set and its split sizes are in it, the seed is not
    for override in ("data.validation=0.25", "data.train_subset=100", "data.args.n=128"):
        r2 = load_recipe(base=_toy(tmp_path, 1), overrides=[override])
        s2 = prepare_stream(r2, load_splits(r2).train, 1, torch.device("cpu"), None)[2]
        assert m.teacher_key(s2) != key, override
    r3 = load_recipe(base=_toy(tmp_path, 1), overrides=["seed=5"])
    assert prepare_stream(r3, data, 1, torch.device("cpu"), None)[2] == base
    # end to end: a run on a subset of the data fits (and caches) its own teacher side
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    train(r, run_dir=tmp_path / "full", quiet=True)
    train(load_recipe(base=_toy(tmp_path, 1), overrides=["data.train_subset=128"]),
          run_dir=tmp_path / "half", quiet=True)  # fmt: skip
    assert len(list((tmp_path / "cache").glob("hksanc-teacher-*.safetensors"))) == 2


def test_resume_continues_exactly(tmp_path, monkeypatch):
    """Killed in epoch 2 of 3 and resumed: bit-exact against an uninterrupted run."""
    from safetensors.torch import load_file

    import advkt.engine.trainer as trainer

    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    tree = _toy(tmp_path, 3)
    tree["train"]["schedule"] = {"name": "cosine"}
    straight = tmp_path / "straight"
    train(load_recipe(base=tree), run_dir=straight, quiet=True)
    real_epoch = trainer.train_epoch

    def killed_in_epoch_2(run, epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        return real_epoch(run, epoch)

    stopped = tmp_path / "stopped"
    monkeypatch.setattr(trainer, "train_epoch", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(load_recipe(base=tree), run_dir=stopped, quiet=True)
    monkeypatch.undo()
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    assert (stopped / "ckpt" / "last").read_text().strip() == "e0001"
    _, m = train(None, resume=stopped, quiet=True, return_method=True)
    # the teacher side comes back from the checkpoint, frozen as in the uninterrupted run
    assert not any(p.requires_grad for p in [*m.t_side.parameters(), *m.t_aux.parameters()])
    assert not m.t_side.training and m.student.training
    for f in ("model.safetensors", "method.safetensors"):
        a, b = (load_file(str(r / "ckpt" / "e0003" / f)) for r in (straight, stopped))
        assert set(a) == set(b)
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=f"{f}: {k}")
    lines = [(r / "metrics.jsonl").read_text().splitlines() for r in (straight, stopped)]
    strip = [
        [{k: v for k, v in json.loads(x).items() if "time" not in k} for x in ls] for ls in lines
    ]
    assert strip[0] == strip[1]


def test_saved_student_is_rebuilt_and_evaluated_from_its_folder(tmp_path, monkeypatch):
    from advkt.engine.evaluation import evaluate_run, load_student
    from advkt.models.profile import count_params

    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    summary, m = train(
        load_recipe(base=_toy(tmp_path, 1)), run_dir=run, quiet=True, return_method=True
    )
    spec = ckpt.read_spec(ckpt.resolve(run))
    assert spec["name"] == "descriptor_head" and spec["backbone"]["name"] == "mlp"
    assert summary["student"] == spec
    student = load_student(run)
    assert summary["params"] == count_params(student) == count_params(m.student)
    x = torch.randn(5, 1, 8)
    torch.testing.assert_close(student(x), m.student.eval()(x), rtol=0, atol=0)
    assert evaluate_run(run)["clean_acc"] == pytest.approx(summary["test_acc"], abs=1e-9)
    # the attention-map figure's path: the method rebuilt around the saved student, which
    # already has its head (not a second one), and the whole checkpoint loaded into it
    from advkt.engine.run import build_method
    from advkt.recipe import recipe_from_json

    r = recipe_from_json(run / "recipe.json")
    data = load_splits(r).train
    again = build_method(r, load_student(run), build_teacher(r, data), data, x.device)
    ckpt.load_method(again, ckpt.resolve(run))
    assert len(again.attention_maps(x)) == len(m._blocks)
    # ... and `advkt viz attention` draws them from the folder alone
    from advkt.cli import main

    png = tmp_path / "attention.png"
    assert main(["viz", "attention", str(run), "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


@pytest.mark.slow
def test_two_processes_keep_the_discriminator_in_sync(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))  # the estimators are fitted here
    from tests.engine.test_distributed import _run

    tree = _toy(tmp_path, 1)
    r = load_recipe(base=tree)
    train_teacher(r, quiet=True)
    _run(tree, tmp_path / "ddp", 2)
    from safetensors.torch import load_file

    r0 = load_file(str(tmp_path / "ddp" / "rank0.safetensors"))
    r1 = load_file(str(tmp_path / "ddp" / "rank1.safetensors"))
    assert any(k.startswith("disc.") for k in r0)
    for k in r0:
        torch.testing.assert_close(r0[k], r1[k], rtol=0, atol=0, msg=k)


def test_a_teacher_table_holds_the_squeezed_teacher_descriptors_in_place_of_features():
    """With a teacher table the step reads a^t_p from the table's rows (computed once), not from
    features: the same loss as computing them from the batch's teacher features."""
    from advkt.engine.batches import TeacherTable

    torch.manual_seed(0)
    m, _ = _pair()
    x = torch.randn(10, 1, 8)
    with torch.no_grad():
        logits, feats = m.teacher(x, features=True)
    table = TeacherTable(logits, feats).with_rows(m, batch_size=4)  # 3 chunks
    assert table.feats is None and table.rows["a_t"].shape[0] == 10
    idx = torch.tensor([7, 2, 9])
    t_logits, t_feats, rows = table(idx)
    assert t_feats is None
    y = torch.tensor([0, 1, 2])
    from_rows = Batch(x=x[idx], y=y, t_logits=t_logits, cache=rows)
    torch.manual_seed(1)
    got = m.student_loss(from_rows)["is"]
    torch.manual_seed(1)
    want = m.student_loss(_batch(m, x[idx], y))["is"]
    torch.testing.assert_close(got, want)
    # without L_is there is nothing to hold: the table keeps the features
    m0, _ = _pair(lambda_is=0.0)
    assert TeacherTable(logits, feats).with_rows(m0, batch_size=4).feats is feats
