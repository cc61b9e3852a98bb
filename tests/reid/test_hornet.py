"""HorNet's recurrent network (advkt.reid.hornet): the descriptor's parts, captions read from
the image by the frozen captioner (padding skipped), the without-captions ablation, and a short
training on rendered people that ranks identities far above chance."""

from __future__ import annotations

import numpy as np
import torch

from advkt.losses.triplet import batch_hard_triplet
from advkt.models import build_model
from advkt.reid.captioner import Captioner, fit_captioner
from advkt.reid.evaluate import evaluate
from advkt.reid.hornet import HORNet
from advkt.reid.synthetic import render


def _backbone():
    return build_model({"name": "resnet8", "num_classes": 10})


def test_the_descriptor_is_the_pooled_vector_beside_the_joint_code():
    torch.manual_seed(0)
    cap = Captioner(vocab_size=9)
    m = HORNet(_backbone(), num_classes=5, captioner=cap, length=6)
    x = torch.randn(4, 3, 64, 32)
    logits, f = m(x, features=True)
    assert logits.shape == (4, 5) and f.pooled.shape == (4, 64 + 128)
    assert not any(p.requires_grad for p in cap.parameters())
    m.train()
    assert not cap.training and m.backbone.training  # the captioner stays in eval mode
    logits.sum().backward()
    assert m.words.weight.grad is not None and m.offshoots[0].weight.grad is not None
    ids = m.captions(x)
    assert ids.shape == (4, 6)
    plain = HORNet(_backbone(), num_classes=5)  # without captions: the offshoots only
    assert plain(x, features=True)[1].pooled.shape == (4, 64 + 128)


def test_padding_does_not_move_the_joint_code():
    torch.manual_seed(0)
    m = HORNet(_backbone(), num_classes=3, captioner=Captioner(vocab_size=9), length=5).eval()
    x = torch.randn(2, 3, 64, 32)
    short = torch.tensor([[5, 6, 2, 0, 0], [7, 2, 0, 0, 0]])
    m.captions = lambda _: short  # the caption the frozen captioner would give
    a = m(x, features=True)[1].pooled
    m.length = 8
    m.captions = lambda _: torch.cat([short, torch.zeros(2, 3, dtype=torch.long)], 1)
    assert torch.allclose(a, m(x, features=True)[1].pooled, atol=1e-6)


def test_a_short_training_ranks_rendered_identities_far_above_chance():
    r = render(n_ids=24, n_cams=2, per_cam=3, seed=0)
    x = torch.from_numpy(r.images).float() / 127.5 - 1
    caps = [r.captions[int(p)] for p in r.pids]
    captioner, _, _ = fit_captioner(x, caps, epochs=15, batch=32)
    torch.manual_seed(0)
    train = torch.from_numpy(r.pids <= 12)
    y = torch.from_numpy(r.pids).long() - 1
    m = HORNet(_backbone(), num_classes=12, captioner=captioner)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    xt, yt = x[train], y[train]
    for _ in range(60):
        idx = torch.randperm(len(xt))[:36]
        logits, f = m(xt[idx], features=True)
        loss = torch.nn.functional.cross_entropy(logits, yt[idx]) + batch_hard_triplet(
            f.pooled, yt[idx]
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    test = ~train
    with torch.no_grad():
        feats = m(x[test], features=True)[1].pooled.numpy()
    pids, cams = r.pids[test.numpy()], r.camids[test.numpy()]
    q = cams == 0  # query camera 0, gallery camera 1
    dist = np.linalg.norm(feats[q][:, None] - feats[~q][None], axis=2)
    res = evaluate(dist, pids[q], pids[~q], cams[q], cams[~q])
    assert res["cmc"][0] > 3 * (100 / 12)  # 12 unseen identities: chance rank-1 is 8.3 %


def test_the_hornet_model_is_built_from_its_spec_with_its_captioner(tmp_path):
    import pytest

    from advkt.reid.captioner import Vocabulary, save_captioner

    vocab = Vocabulary(["red hair, blue top"])
    save_captioner(tmp_path / "cap", Captioner(len(vocab)), vocab)
    spec = {"name": "hornet", "num_classes": 4, "backbone": {"name": "resnet8"},
            "captioner": str(tmp_path / "cap"), "length": 6}  # fmt: skip
    m = build_model(spec)
    assert isinstance(m, HORNet) and m.captioner is not None
    assert build_model(m.spec).spec == m.spec  # rebuilt from the spec it carries
    assert m(torch.randn(2, 3, 64, 32)).shape == (2, 4)
    assert build_model({**spec, "captioner": None}).captioner is None
    with pytest.raises(ValueError, match="needs 'backbone'"):
        build_model({"name": "hornet", "num_classes": 4})
