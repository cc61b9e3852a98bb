"""The one evaluation path: clean and attacked accuracy on a data split."""

import pytest
import torch
from torch import nn

from advkt.data.base import TensorData
from advkt.engine.evaluation import accuracy

CPU = torch.device("cpu")


def _images(n: int = 40) -> TensorData:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 1, 4, 4), dtype=torch.uint8, generator=g)
    return TensorData(x, torch.randint(0, 3, (n,), generator=g), 3, mean=(0.5,), std=(0.25,))


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))


def test_clean_accuracy_is_the_hand_count_in_any_batching_and_restores_the_mode():
    data, net = _images(), _net()
    net.train()
    with torch.no_grad():
        x = (data.x.float() / 255 - 0.5) / 0.25
        want = 100.0 * (net.eval()(x).argmax(1) == data.y).float().mean().item()
    net.train()
    for batch in (1, 7, 40, 100):
        assert accuracy(net, data, CPU, batch) == {"clean": pytest.approx(want)}
    assert net.training  # the caller's mode is back
    first = accuracy(net, data, CPU, 8, limit=10)["clean"]
    with torch.no_grad():
        hits = (net.eval()(x[:10]).argmax(1) == data.y[:10]).sum().item()
    assert first == pytest.approx(10.0 * hits)


def test_an_attack_keeps_its_budget_and_lowers_the_accuracy():
    data, net = _images(), _net()
    seen = []

    def spy(model, pix, y, eps, clamp, normalize):
        seen.append((pix.min().item() >= 0, pix.max().item() <= 1, clamp))
        from advkt.attacks import fgsm

        return fgsm(model, pix, y, eps, clamp=clamp, normalize=normalize)

    out = accuracy(net, data, CPU, 16, attack=spy, eps=0.3)
    assert all(lo and hi and c == (0.0, 1.0) for lo, hi, c in seen) and len(seen) == 3
    assert out["robust"] < out["clean"]
    assert accuracy(net, data, CPU, 16, attack="fgsm", eps=0.3) == out


def test_an_unknown_attack_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown attack 'cw'; valid attacks: fgsm, pgd"):
        accuracy(_net(), _images(), CPU, 8, attack="cw")
