"""Proximal operators against their closed forms, masks and accounting, channel groups, physical
shrinking (same outputs, fewer parameters) and the load_shrunk round trip."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from advkt.pruning import (
    apply_masks,
    apply_proximal,
    channel_groups,
    compression_rate,
    filter_masks,
    load_shrunk,
    magnitude_masks,
    prox_group_lasso,
    prox_l1,
    prunable_weights,
    shrink,
    sparsity,
)
from advkt.registry import MODELS


def _params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _randomise_bn(model: nn.Module) -> None:
    """Non-trivial BN statistics, so that a wrongly dropped channel would show in the output."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)


class TinyBlock(nn.Module):
    """Post-activation basic block: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut x)."""

    def __init__(self, c_in: int, c: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, c, 1, stride, bias=False), nn.BatchNorm2d(c))
            if stride != 1 or c_in != c
            else nn.Identity()
        )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class TinyResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = nn.Sequential(TinyBlock(8, 8, 1), TinyBlock(8, 16, 2))
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        h = self.layer1(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


def lenet_like() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 32), nn.ReLU(), nn.Linear(32, 10),
    )  # fmt: skip


# ---------------------------------------------------------------------------- proximal operators
def test_prox_l1_hand_example():
    w = torch.tensor([-3.0, -0.5, 0.0, 0.2, 1.0, 2.5])
    assert torch.equal(prox_l1(w, 1.0), torch.tensor([-2.0, 0.0, 0.0, 0.0, 0.0, 1.5]))
    assert torch.equal(prox_l1(w, 0.0), w)
    with pytest.raises(ValueError, match="threshold"):
        prox_l1(w, -1.0)


def test_prox_l1_is_the_argmin_of_its_objective():
    """prox(w) = argmin_z ½(z − w)² + t|z|, checked by brute force over a fine grid."""
    grid = torch.linspace(-4, 4, 80001)
    for w in (-2.7, -0.3, 0.0, 0.8, 3.1):
        obj = 0.5 * (grid - w) ** 2 + 0.75 * grid.abs()
        best = grid[obj.argmin()].item()
        assert abs(prox_l1(torch.tensor([w]), 0.75).item() - best) < 1e-3


def test_prox_group_lasso_hand_example_with_zero_group():
    w = torch.tensor([[3.0, 4.0], [0.0, 0.0], [0.3, 0.4], [-6.0, 8.0]])
    out = prox_group_lasso(w, 1.0, dim=0)  # norms 5, 0, 0.5, 10
    expected = torch.tensor([[2.4, 3.2], [0.0, 0.0], [0.0, 0.0], [-5.4, 7.2]])
    assert torch.allclose(out, expected) and not out.isnan().any()
    assert torch.allclose(prox_group_lasso(w.T, 1.0, dim=1), expected.T)
    assert torch.equal(prox_group_lasso(torch.zeros(3, 2), 0.0), torch.zeros(3, 2))


def test_prox_group_lasso_conv_filters_against_loop():
    torch.manual_seed(0)
    w = torch.randn(5, 3, 3, 3) * torch.tensor([0.01, 1, 0.05, 2, 0.08])[:, None, None, None]
    t = 0.5
    out = prox_group_lasso(w, t)
    for g in range(5):
        norm = float(w[g].pow(2).sum().sqrt())
        expected = w[g] * max(0.0, 1 - t / norm)
        assert torch.allclose(out[g], expected, atol=1e-7)
    assert (out.flatten(1).abs().sum(1) == 0).tolist() == [True, False, True, False, True]


def test_apply_proximal_touches_only_prunable_weights():
    torch.manual_seed(0)
    model = lenet_like()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    apply_proximal(model, lr=0.1, lam=0.5, kind="l1")
    after = model.state_dict()
    weights = {n for n, _ in prunable_weights(model)}
    assert weights == {"0.weight", "4.weight", "8.weight", "10.weight"}
    for k in before:
        if k in weights:
            assert torch.allclose(after[k], prox_l1(before[k], 0.05))
        else:  # biases and BN untouched
            assert torch.equal(after[k], before[k])
    model.load_state_dict(before)
    groups = channel_groups(model, torch.rand(2, 1, 28, 28))
    apply_proximal(model, lr=1.0, lam=0.8, kind="group", groups=groups)
    after = model.state_dict()
    for k in before:  # the two removable convs are grouped; the linears are not
        if k in ("0.weight", "4.weight"):
            assert torch.allclose(after[k], prox_group_lasso(before[k], 0.8))
        else:
            assert torch.equal(after[k], before[k])
    with pytest.raises(ValueError, match="'l2'"):
        apply_proximal(model, 0.1, 0.1, kind="l2")
    with pytest.raises(ValueError, match="needs groups"):
        apply_proximal(model, 0.1, 0.1, kind="group")


# ---------------------------------------------------------------------------- masks, accounting
def test_sparsity_and_compression_rate_by_hand():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))  # 12 + 6 prunable weights
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0, 0, 2], [0, 0, 0, 0], [3, 0, 0, 0]]))
        model[2].weight.copy_(torch.tensor([[0.0, 1, 0], [0, 0, 5]]))
        model[0].bias.zero_()  # biases do not count
    assert sparsity(model) == pytest.approx(13 / 18)
    assert compression_rate(model) == pytest.approx(18 / 5)


def test_global_magnitude_masks_keep_exactly_the_largest():
    torch.manual_seed(0)
    model = lenet_like()
    total = sum(w.numel() for _, w in prunable_weights(model))
    masks = magnitude_masks(model, sparsity=0.9)
    kept = sum(int(m.sum()) for m in masks.values())
    assert kept == round(total * 0.1)
    params = dict(prunable_weights(model))
    kept_min = min(params[n].abs()[m].min() for n, m in masks.items() if m.any())
    dropped_max = max(params[n].abs()[~m].max() for n, m in masks.items())
    assert kept_min >= dropped_max
    apply_masks(model, masks)
    assert compression_rate(model) == pytest.approx(total / kept)
    by_rate = magnitude_masks(model, rate=4.0, scope="layer")
    for n, m in by_rate.items():
        assert int(m.sum()) == round(params[n].numel() / 4)
    with pytest.raises(ValueError, match="exactly one"):
        magnitude_masks(model)
    with pytest.raises(ValueError, match="no_such"):
        apply_masks(model, {"no_such.weight": torch.ones(1, dtype=torch.bool)})


# ---------------------------------------------------------------------- channel groups, shrinking
def test_channel_groups_found_by_structure():
    groups = channel_groups(lenet_like(), torch.rand(2, 1, 28, 28))
    assert [(g.producer, g.bn, g.consumer, g.factor) for g in groups] == [
        ("0", "1", "4", 1),
        ("4", None, "8", 25),
    ]
    groups = channel_groups(TinyResNet(), torch.rand(2, 3, 16, 16))
    assert [(g.producer, g.bn, g.consumer) for g in groups] == [
        ("layer1.0.conv1", "layer1.0.bn1", "layer1.0.conv2"),
        ("layer1.1.conv1", "layer1.1.bn1", "layer1.1.conv2"),
    ]  # the stem and each conv2 feed a residual sum: not removable


@pytest.mark.parametrize("make,shape", [(lenet_like, (1, 28, 28)), (TinyResNet, (3, 16, 16))])
def test_shrink_matches_masked_model(make, shape, tmp_path):
    torch.manual_seed(0)
    model = make()
    _randomise_bn(model)
    model.eval()
    x = torch.rand(4, *shape)
    apply_masks(model, filter_masks(model, channel_groups(model, x), sparsity=0.5))
    small, info = shrink(model, example=x)
    with torch.no_grad():
        assert torch.allclose(small(x), model(x), atol=1e-5)
    assert _params(small) < _params(model)
    assert json.loads(json.dumps(info)) == info
    # round trip through safetensors + JSON, from a dense model of the same architecture
    save_file(small.state_dict(), str(tmp_path / "w.safetensors"))
    (tmp_path / "shrink.json").write_text(json.dumps(info))
    loaded = load_shrunk(make(), tmp_path / "shrink.json", tmp_path / "w.safetensors").eval()
    with torch.no_grad():
        assert torch.equal(loaded(x), small(x))


def test_shrink_keeps_channels_that_are_not_exactly_zero():
    torch.manual_seed(0)
    model = lenet_like().eval()
    with torch.no_grad():
        model[0].weight[2].zero_()  # filter zero but bias and BN shift not: channel is constant
    x = torch.rand(2, 1, 28, 28)
    small, info = shrink(model, x)
    assert info["kept"] == {} and _params(small) == _params(model)
    # mask the already-zero filter with its bias and BN
    apply_masks(model, filter_masks(model, channel_groups(model, x)))
    small, info = shrink(model, example=x)
    assert info["kept"] == {"0": [0, 1, 3, 4, 5]}
    assert info["modules"]["0"] == {"type": "Conv2d", "in_channels": 1, "out_channels": 5}
    assert info["modules"]["4"]["in_channels"] == 5


def test_shrink_real_backbones_and_load_from_spec():
    torch.manual_seed(0)
    backbones = (
        ("lenet5", {}, (1, 28, 28)),
        ("resnet8", {}, (3, 32, 32)),
        ("cnn_small", {"width": 8}, (1, 28, 28)),
        ("vgg8", {}, (3, 32, 32)),
        ("wrn_16_1", {}, (3, 32, 32)),
        ("mobilenetv2", {"width_mult": 0.25}, (3, 32, 32)),
        ("cnn1d", {"width": 8}, (1, 40)),
    )
    for name, kwargs, shape in backbones:
        model = MODELS.get(name)(**kwargs)
        _randomise_bn(model)
        model.eval()
        x = torch.rand(2, *shape)
        apply_masks(model, filter_masks(model, channel_groups(model, x), sparsity=0.5))
        small, info = shrink(model, example=x)
        with torch.no_grad():
            assert torch.allclose(small(x), model(x), atol=1e-5)
        assert _params(small) < _params(model), name
        loaded = load_shrunk(model.spec, info, small.state_dict()).eval()
        with torch.no_grad():
            assert torch.equal(loaded(x), small(x))


def test_load_shrunk_rejects_mismatches():
    model = lenet_like()
    x = torch.rand(2, 1, 28, 28)
    apply_masks(model, filter_masks(model, channel_groups(model, x), sparsity=0.5))
    small, info = shrink(model, x)
    with pytest.raises(ValueError, match="do not match"):
        load_shrunk(lenet_like(), info, lenet_like().state_dict())
    with pytest.raises(ValueError, match="lacks"):
        load_shrunk(lenet_like(), {"modules": {"9.conv": info["modules"]["0"]}}, {})
    with pytest.raises(ValueError, match="'name'"):
        load_shrunk({"arch": "lenet5"}, info, small.state_dict())
