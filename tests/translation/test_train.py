"""The translation loops (advkt.translation.train) and the digit task's scores, on small random
images: a killed run resumes bit-exact, a diverging game stops with a clear message, each
distiller moves its student toward the teacher, and the scores agree with direct computations."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advkt.engine import checkpoint
from advkt.translation import train as tr
from advkt.translation.tasks import train_judge, translation_scores

SCHED = tr.Schedule(epochs=2, batch=4)


def _domains(n: int = 12):
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, 1, 28, 28, generator=g) * 2 - 1
    b = (torch.rand(n, 1, 28, 28, generator=g) * 2 - 1).clamp(-1, 0.2)  # another "domain"
    return a, b


def _weights(m: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in m.state_dict().items()}


def _killed_after_first_epoch(monkeypatch):
    real = checkpoint.save

    def save_then_die(*args, **kw):
        real(*args, **kw)
        raise KeyboardInterrupt  # killed right after the first epoch's checkpoint

    monkeypatch.setattr(checkpoint, "save", save_then_die)
    return lambda: monkeypatch.setattr(checkpoint, "save", real)


def _pairs(n: int = 12):
    """Grey inputs and colour targets that depend on them (a paired task), 32 x 32."""
    g = torch.Generator().manual_seed(0)
    y = torch.rand(n, 3, 32, 32, generator=g) * 2 - 1
    return y.mean(1, keepdim=True), y


def _teacher(kind: str):
    one = tr.Schedule(epochs=1, batch=4)
    if kind == "cyclegan":
        a, b = _domains()
        return a, b, tr.fit_cyclegan(a, b, width=2, sched=one, blocks=1)
    a, b = _pairs()
    return a, b, tr.fit_pix2pix(a, b, width=2, sched=one, depth=3)


@pytest.mark.parametrize("kind", ["cyclegan", "pix2pix"])
@pytest.mark.parametrize("method", ["scratch", "feature", "ours"])
def test_a_killed_run_resumes_bit_exact(tmp_path, monkeypatch, method, kind):
    a, b, teacher = _teacher(kind)

    def fit(run_dir):
        return tr.fit_student(method, teacher, a, b, 2, SCHED, seed=3, run_dir=run_dir)

    whole = fit(tmp_path / "whole")
    restore = _killed_after_first_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "killed")
    restore()
    torch.manual_seed(1234)  # the resumed run must not depend on the process's random state
    resumed = fit(tmp_path / "killed")
    assert [e["epoch"] for e in resumed.log] == [0, 1]
    w, r = _weights(whole), _weights(resumed)
    assert w.keys() == r.keys()
    assert all(torch.equal(w[k], r[k]) for k in w)
    assert resumed.log[1] == {**whole.log[1], "seconds": resumed.log[1]["seconds"]}
    # a sample grid after each epoch: input | teacher | student (input | output (| target))
    from PIL import Image

    side = a.shape[-1]
    rows = 3 if method != "scratch" or kind == "pix2pix" else 2
    for epoch in (1, 2):
        png = Image.open(tmp_path / "whole" / "samples" / f"epoch{epoch:04d}.png")
        assert png.size == (8 * side, rows * side) and png.mode == "RGB"


def test_a_diverging_game_stops_with_a_clear_message():
    a, b = _domains()
    with pytest.raises(FloatingPointError, match="diverged"):
        tr.fit_cyclegan(a * float("nan"), b, width=2, sched=SCHED, blocks=1)


@pytest.mark.parametrize("method", tr.DISTILLERS)
def test_each_distiller_moves_its_student_toward_the_teacher(method):
    a, b = _domains(16)
    teacher = tr.fit_cyclegan(a, b, width=4, sched=tr.Schedule(epochs=1, batch=4), blocks=1)
    torch.manual_seed(0)
    before = tr.Distiller(method, teacher.student, 2, critic_in=1).student.eval()
    sched = tr.Schedule(epochs=8, batch=4, lr=2e-3)
    # ours at a Gram weight these critic features keep below the pixel term (see the docs page)
    kw = {"w_gram": 1e3} if method == "ours" else {}
    student = tr.fit_student(method, teacher, a, b, 2, sched, seed=0, **kw)
    with torch.no_grad():
        t = teacher.student(a)
        gap_before = (before(a) - t).abs().mean()
        gap_after = (student.student(a) - t).abs().mean()
    assert gap_after < 0.8 * gap_before
    assert set(student.log[0]) >= {"pixel", "seconds"}
    if method == "ours":
        assert {"feature", "gram", "g_adv", "d"} <= set(student.log[0])
    # the teacher stays frozen: nothing of it is in the student's module
    assert not any(p.requires_grad for p in teacher.student.parameters())


def test_an_unknown_distiller_is_refused():
    a, b = _domains()
    teacher = tr.fit_cyclegan(a, b, width=2, sched=tr.Schedule(epochs=1, batch=4), blocks=1)
    with pytest.raises(ValueError, match="unknown distiller 'kd'; valid: pixel, feature, ours"):
        tr.Distiller("kd", teacher.student, 2, critic_in=1)


def test_gram_and_the_schedule():
    f = torch.arange(8.0).reshape(1, 2, 2, 2)
    flat = f.reshape(1, 2, 4)
    assert torch.allclose(tr.gram(f), flat @ flat.transpose(1, 2) / 8)
    s = tr.Schedule(epochs=4)
    assert [s.factor(e) for e in range(4)] == [1.0, 1.0, 1.0, 0.5]


def test_translation_scores_against_direct_computations():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(40) % 10
    proto = torch.rand(10, 1, 28, 28, generator=g) * 2 - 1
    x = (proto[y] + 0.1 * torch.randn(40, 1, 28, 28, generator=g)).clamp(-1, 1)
    judge = train_judge(x, y, epochs=30, use_cache=False)
    with torch.no_grad():
        direct = (judge(x).argmax(1) == y).float().mean().item() * 100
    same = translation_scores(nn.Identity(), judge, x, y, x)
    assert same["acc"] == pytest.approx(direct)
    assert abs(same["frechet"]) < 1e-3  # translated = real: the two feature sets are the same
    flipped = translation_scores(nn.Identity(), judge, -x, y, x)
    assert flipped["frechet"] > 1.0


def test_the_triplet_term_pulls_toward_the_teacher_and_pushes_from_other_inputs():
    t = torch.randn(4, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    assert ((t - t.roll(1, 0)).pow(2).flatten(1).mean(1) > 0.5).all()  # others farther than m
    assert tr.triplet(t, t, margin=0.5).item() == 0.0  # at the teacher, far from the others
    same = torch.ones(4, 3, 2, 2)
    # all student outputs alike and away from the teacher's: distance to the teacher + margin
    expect = (same - t).pow(2).flatten(1).mean(1) + 0.5
    assert torch.allclose(tr.triplet(same, t, margin=0.5), expect.mean())


def test_ours_with_the_triplet_switch_logs_the_term():
    a, b = _domains()
    teacher = tr.fit_cyclegan(a, b, width=2, sched=tr.Schedule(epochs=1, batch=4), blocks=1)
    s = tr.fit_student("ours", teacher, a, b, 2, tr.Schedule(epochs=1, batch=4), w_tri=1.0)
    assert s.log[0]["triplet"] >= 0


def test_pix2pix_students_see_the_input_beside_the_image_and_learn_the_teachers_outputs():
    a, b, teacher = _teacher("pix2pix")
    assert teacher.critic.net[0].in_channels == 1 + 3  # the input and the colour image
    sched = tr.Schedule(epochs=8, batch=4, lr=2e-3)
    torch.manual_seed(0)
    before = tr.Distiller("pixel", teacher.student, 1, critic_in=4).student.eval()
    student = tr.fit_student("pixel", teacher, a, b, 1, sched, seed=0)
    ours = tr.fit_student("ours", teacher, a, b, 1, tr.Schedule(epochs=1, batch=4), w_gram=1e3)
    assert ours.d_s.net[0].in_channels == 4 and ours.student.config["depth"] == 3
    with torch.no_grad():
        t = teacher.student(a)
        assert (student.student(a) - t).abs().mean() < 0.8 * (before(a) - t).abs().mean()
    scratch = tr.fit_student("scratch", teacher, a, b, 1, tr.Schedule(epochs=1, batch=4))
    assert isinstance(scratch, tr.Pix2Pix) and {"g_adv", "l1", "d"} <= set(scratch.log[0])
    with pytest.raises(ValueError, match="paired images: 12 inputs, 11 targets"):
        tr.fit_pix2pix(a, b[:11], width=1)


def test_grey_and_the_colour_scores_against_direct_computations():
    from advkt.translation.tasks import colour_scores, grey

    c = torch.zeros(1, 3, 1, 1)
    c[0, :, 0, 0] = torch.tensor([1.0, 0.5, -1.0])
    assert grey(c).item() == pytest.approx(0.299 * 1 + 0.587 * 0.5 - 0.114)
    g = torch.Generator().manual_seed(0)
    y = torch.arange(20) % 10
    colour = torch.rand(20, 3, 32, 32, generator=g) * 2 - 1
    lenet = {"name": "lenet5", "num_classes": 10, "in_channels": 3, "in_size": 32}
    judge = train_judge(colour, y, model=lenet, epochs=5, use_cache=False)

    class Oracle(nn.Module):  # colours every grey image with its true colours
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return colour[: len(x)] + 0 * self.w

    r = colour_scores(Oracle(), judge, grey(colour), y, colour)
    with torch.no_grad():
        direct = (judge(colour).argmax(1) == y).float().mean().item() * 100
    assert r["acc"] == pytest.approx(direct) and r["ssim"] == pytest.approx(1.0)
    assert r["psnr"] > 100  # identical images: the MSE floor
    flat = colour_scores(nn.Conv2d(1, 3, 1), judge, grey(colour), y, colour)
    assert flat["psnr"] < 20 and flat["ssim"] < 0.9


def test_contrastive_by_hand():
    e1, e2 = torch.zeros(2, 3), torch.tensor([[3.0, 4.0, 0.0], [0.0, 1.0, 0.0]])
    assert tr.contrastive(e1, e2, True, 2.0).item() == pytest.approx((25 + 1) / 2)
    # negative pairs: only those closer than the margin cost, (m - d)^2
    assert tr.contrastive(e1, e2, False, 2.0).item() == pytest.approx((0 + 1) / 2)


def test_spgan_trains_its_siamese_net_and_resumes_bit_exact(tmp_path, monkeypatch):
    a, b = _domains()

    def fit(run_dir):
        return tr.fit_cyclegan(a, b, width=2, sched=SCHED, blocks=1, similarity=2.0,
                               run_dir=run_dir, seed=1)  # fmt: skip

    whole = fit(tmp_path / "whole")
    assert {"similarity", "siamese"} <= set(whole.log[0]) and hasattr(whole, "siamese")
    restore = _killed_after_first_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "killed")
    restore()
    resumed = fit(tmp_path / "killed")
    w, r = _weights(whole), _weights(resumed)
    assert any(k.startswith("siamese.") for k in w)
    assert all(torch.equal(w[k], r[k]) for k in w)
    assert not hasattr(tr.fit_cyclegan(a, b, width=2, sched=SCHED, blocks=1), "siamese")
