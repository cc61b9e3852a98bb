"""Dense flow: the FSP matrix and the loss terms against independent computations, the window
enumeration (count and overlap), the student-to-teacher block mapping, switches, bad input and a
semi-supervised end-to-end run."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advkt.engine.trainer import train
from advkt.losses.feature import fsp_matrix
from advkt.methods.base import Batch
from advkt.methods.dense_flow import DenseFlow, block_sequence, flow_items, teacher_positions
from advkt.models import build_model
from advkt.recipe import load_recipe
from tests.engine.toy import toy_recipe


def _mlp(hidden):
    spec = {"name": "mlp", "num_classes": 4, "in_channels": 1, "in_size": 8, "ndim": 1}
    return build_model({**spec, "hidden": list(hidden)})


def _pair(student_hidden=(8, 8), teacher_hidden=(32, 32), **kw):
    torch.manual_seed(0)
    s, t = _mlp(student_hidden), _mlp(teacher_hidden).eval()
    x = torch.randn(6, 1, 8)
    return DenseFlow(s, t, num_classes=4, example_input=x, **kw), x


def _batch(m, x, y, epoch=0.0):
    with torch.no_grad():
        t_logits, t_feats = m.teacher(x, features=True)
    return Batch(x=x, y=y, t_logits=t_logits, t_feats=t_feats, epoch=epoch)


# ---------------------------------------------------------------------- FSP matrix
def test_fsp_matrix_matches_explicit_sums_over_positions():
    torch.manual_seed(1)
    f1, f2 = torch.randn(2, 3, 4, 5), torch.randn(2, 6, 4, 5)
    g = fsp_matrix(f1, f2)
    want = torch.zeros(2, 3, 6)
    for n in range(2):
        for i in range(3):
            for j in range(6):
                want[n, i, j] = (
                    sum(f1[n, i, h, w] * f2[n, j, h, w] for h in range(4) for w in range(5)) / 20
                )
    torch.testing.assert_close(g, want)


def test_fsp_matrix_pools_the_larger_map_first():
    torch.manual_seed(2)
    f1, f2 = torch.randn(1, 2, 8, 8), torch.randn(1, 3, 4, 4)
    # 2x2 block means by reshaping, not by the pooling the library calls
    p1 = f1.reshape(1, 2, 4, 2, 4, 2).mean(dim=(3, 5))
    want = torch.einsum("nihw,njhw->nij", p1, f2) / 16
    torch.testing.assert_close(fsp_matrix(f1, f2), want)


# ---------------------------------------------------------------------- windows
def test_flow_items_count_and_overlap():
    assert flow_items(4, 2) == [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]
    for points in range(2, 9):
        for window in range(1, 5):
            items = flow_items(points, window)
            d_max = min(window, points - 1)
            assert len(items) == sum(points - d for d in range(1, d_max + 1))
            assert len(set(items)) == len(items)
            assert all(0 <= a < b < points and b - a <= window for a, b in items)
            for d in range(1, d_max + 1):
                same = [it for it in items if it[1] - it[0] == d]
                assert len(same) == points - d
                for p, q in zip(same, same[1:]):  # slide by one block
                    assert q == (p[0] + 1, p[1] + 1)
                    # d = 1: neighbours share an endpoint; d >= 2: their spans overlap
                    assert p[1] == q[0] if d == 1 else q[0] < p[1]
            if points >= 3:  # every inner output is an endpoint of at least two items
                for k in range(1, points - 1):
                    assert sum(k in it for it in items) >= 2


def test_flow_items_window_one_is_fsp_between_neighbours():
    assert flow_items(3, 1) == [(0, 1), (1, 2)]
    assert flow_items(3, 10) == [(0, 1), (1, 2), (0, 2)]  # the window is capped at n


def test_flow_items_reject_bad_sizes():
    with pytest.raises(ValueError, match="window must be >= 1"):
        flow_items(4, 0)
    with pytest.raises(ValueError, match="at least 2 block outputs"):
        flow_items(1, 2)


def test_teacher_positions_map_student_blocks_evenly_within_stages():
    # resnet8 (1 block per stage) onto resnet26 (4 per stage): each stage output to its output
    assert teacher_positions([1, 1, 1], [4, 4, 4]) == [0, 4, 8, 12]
    # resnet14 (2) onto resnet32 (5): blocks round(5/2)-1 = 1 and 4 of each stage
    assert teacher_positions([2, 2, 2], [5, 5, 5]) == [0, 2, 5, 7, 10, 12, 15]
    assert teacher_positions([2], [2]) == [0, 1, 2]
    with pytest.raises(ValueError, match="same number"):
        teacher_positions([1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="must not be deeper"):
        teacher_positions([3, 1], [2, 1])


def test_positions_pick_the_matching_teacher_features():
    s, t = (
        build_model({"name": "resnet8", "num_classes": 10}),
        build_model({"name": "resnet26", "num_classes": 10}),
    )
    x = torch.randn(2, 3, 32, 32)
    m = DenseFlow(s, t, 10, x, adversarial=False)
    t.eval()
    _, tf = t(x, features=True)
    seq = block_sequence(tf)
    assert len(seq) == 13 and len(m.items) == 3 + 2
    for p, q in enumerate(m.t_pos):
        want = tf.stem if p == 0 else tf.blocks[p - 1][-1]
        assert seq[q] is want
    assert all(isinstance(a, torch.nn.Identity) for a in m.adapters)  # equal widths


# ---------------------------------------------------------------------- losses
def test_student_loss_matches_a_hand_computation():
    m, x = _pair(beta=3.0, lambda_adv=0.5, ce_weight=0.7)
    assert m.items == [(0, 1), (1, 2), (0, 2)]
    y = torch.tensor([0, 1, 2, 3, -1, -1])
    b = _batch(m, x, y)
    out = m.student_loss(b)

    s, sf = m.student(x, features=True)
    _, tf = m.teacher(x, features=True)
    s_seq = [x.flatten(1), sf.blocks[0][0][:, :, 0], sf.blocks[1][0][:, :, 0]]
    s_seq = [s_seq[0]] + [
        m.adapters[k](f.unsqueeze(2))[:, :, 0] for k, f in [(1, s_seq[1]), (2, s_seq[2])]
    ]
    t_seq = [x.flatten(1), tf.blocks[0][0][:, :, 0], tf.blocks[1][0][:, :, 0]]
    flow, adv = 0.0, 0.0
    for j, (a, c) in enumerate(m.items):
        gs = s_seq[a][:, :, None] * s_seq[c][:, None, :]  # outer product: |S| = 1
        gt = t_seq[a][:, :, None] * t_seq[c][:, None, :]
        flow = flow + ((gs - gt) ** 2).sum() / gs.numel()
        pooled = F.adaptive_avg_pool2d(gs, (min(gs.shape[1], 16), min(gs.shape[2], 16)))
        logit = m.discs[j](pooled)
        adv = adv - torch.log(torch.sigmoid(logit)).mean()
    logp = torch.log_softmax(s, 1)
    ce = -(logp[0, 0] + logp[1, 1] + logp[2, 2] + logp[3, 3]) / 4  # unlabelled samples left out
    torch.testing.assert_close(out["flow"], flow)
    torch.testing.assert_close(out["adv"], adv)
    torch.testing.assert_close(out["ce"], ce)
    torch.testing.assert_close(out["loss"], 0.7 * ce + 3.0 * flow + 0.5 * adv)


def test_disc_loss_matches_a_hand_computation_teacher_real():
    m, x = _pair()
    b = _batch(m, x, torch.full((6,), -1))
    out = m.disc_loss(b)
    gt, gs = m.teacher_flow(b), m.student_flow(b)
    want = 0.0
    for j in range(len(m.items)):
        pool = (min(gt[j].shape[1], 16), min(gt[j].shape[2], 16))
        r = m.discs[j](F.adaptive_avg_pool2d(gt[j], pool))
        f = m.discs[j](F.adaptive_avg_pool2d(gs[j].detach(), pool))
        want = want - torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean()
    torch.testing.assert_close(out["loss"], want)
    out["loss"].backward()  # the discriminator step reaches no student parameter
    assert all(p.grad is None for p in m.student.parameters())
    assert all(p.grad is not None for p in m.discs.parameters())


def test_unlabelled_samples_change_only_the_transfer_terms():
    m, x = _pair()
    y1 = torch.tensor([0, 1, 2, 3, -1, -1])
    a = m.student_loss(_batch(m, x, y1))
    x2 = x.clone()
    x2[4:] += 1.0  # move the unlabelled samples only
    bb = m.student_loss(_batch(m, x2, y1))
    torch.testing.assert_close(a["ce"], bb["ce"])
    assert not torch.allclose(a["flow"], bb["flow"])


def test_switches_adversarial_shared_and_pool():
    m, _ = _pair(adversarial=False)
    assert [n for n, _ in m.steps()] == ["student"] and set(m.param_groups()) == {"student"}
    m, _ = _pair()
    assert [n for n, _ in m.steps()] == ["disc", "student"]
    assert len(m.discs) == 3 and m.discs[0].in_dim == 8 * 16  # 8 x 32 pooled to 8 x 16
    m, x = _pair(shared_disc=True, d_pool=4)
    assert len(m.discs) == 1 and m.discs[0].in_dim == 4 * 4 + 3
    out = m.student_loss(_batch(m, x, torch.zeros(6, dtype=torch.long)))
    assert torch.isfinite(out["loss"])
    m, _ = _pair(student_hidden=(32, 32), teacher_hidden=(32, 32), adapt=False)
    assert all(isinstance(a, torch.nn.Identity) for a in m.adapters)
    with pytest.raises(ValueError, match="adapt=true"):
        _pair(adapt=False)
    with pytest.raises(ValueError, match="d_pool"):
        _pair(d_pool=0)


def test_bottom_up_warmup_grows_the_items_by_stage_and_skips_ce():
    m, x = _pair(warmup_epochs=2.0)  # 2 stages: epoch [0, 1) stage 1, [1, 2) stage 2
    assert m.active_items(0.5) == [0]  # (0, 1) ends in stage 1
    assert m.active_items(1.5) == [0, 1, 2]
    assert m.active_items(2.0) == [0, 1, 2]
    out = m.student_loss(_batch(m, x, torch.zeros(6, dtype=torch.long), epoch=0.5))
    assert set(out) == {"loss", "flow"}
    torch.testing.assert_close(out["loss"], m.beta * out["flow"])
    out = m.student_loss(_batch(m, x, torch.zeros(6, dtype=torch.long), epoch=2.5))
    assert {"ce", "adv"} <= set(out)


def test_end_to_end_semi_supervised_toy_run(tmp_path):
    tree = toy_recipe(tmp_path, method="dense_flow", epochs=3)
    tree["data"] = {"dataset": "toy", "labelled_fraction": 0.25}
    tree["method"] = {"name": "dense_flow", "args": {"window": 2, "beta": 0.5}}  # plain SGD
    path = tmp_path / "df.yaml"
    import yaml

    path.write_text(yaml.safe_dump(tree))
    summary = train(load_recipe(str(path)), run_dir=tmp_path / "run", quiet=True)
    assert summary["test_acc"] > 50.0  # 4 separable blobs, chance is 25%
    assert summary["labelled_fraction"] == 0.25
