"""Every registered backbone builds, runs, exposes consistent Features and round-trips its spec."""

from __future__ import annotations

import json

import pytest
import torch

from advkt.models import Features, build_model, model_names
from advkt.registry import MODELS, UnknownNameError

# one small input per model family (kept small for speed: the nets pool globally, so any size
# that survives their down-sampling works); anything not listed is a CIFAR net on 3x16x16
INPUT = {
    "lenet5": (1, 28, 28),
    "cnn_small": (1, 28, 28),
    "mlp": (1, 28, 28),
    "cnn1d": (1, 40),
    "resnet18_imagenet": (3, 32, 32),
    "resnet34_imagenet": (3, 32, 32),
    "resnet50_imagenet": (3, 32, 32),
}
EXPECTED = {
    "resnet8", "resnet14", "resnet20", "resnet26", "resnet32", "resnet44", "resnet56",
    "resnet110", "resnet8x4", "resnet32x4", "resnet164", "wrn", "wrn_16_1", "wrn_16_2",
    "wrn_40_1", "wrn_40_2", "vgg8", "vgg11", "vgg13", "mobilenetv2", "lenet5", "cnn_small",
    "mlp", "cnn1d", "resnet18_imagenet", "resnet34_imagenet", "resnet50_imagenet",
}  # fmt: skip


def test_every_expected_model_is_registered():
    assert EXPECTED <= set(model_names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_forward_and_features_contract(name):
    torch.manual_seed(0)
    shape = INPUT.get(name, (3, 16, 16))
    net = MODELS.get(name)(num_classes=7, in_channels=shape[0]).eval()
    x = torch.randn(2, *shape)
    with torch.no_grad():
        logits = net(x)
        logits2, f = net(x, features=True)
    assert logits.shape == (2, 7)
    assert torch.equal(logits, logits2)
    assert isinstance(f, Features)
    assert f.stem.shape[0] == 2 and f.stem.dim() >= 3
    assert len(f.blocks) >= 3 and all(len(b) >= 1 for b in f.blocks)
    for stage in f.blocks:
        for t in stage:
            assert t.shape[0] == 2 and t.dim() >= 3
            # blocks of one stage share one shape
            assert t.shape == stage[-1].shape
    assert [s.shape for s in f.stages] == [b[-1].shape for b in f.blocks]
    assert f.pooled.shape == (2, net.fc.in_features)
    # the classifier reads exactly the pooled vector
    assert torch.allclose(net.fc(f.pooled), logits, atol=1e-5)


def _stage_shapes(name, shape, **kw):
    net = build_model({"name": name, "in_channels": shape[0], **kw}).eval()
    with torch.no_grad():
        _, f = net(torch.randn(1, *shape), features=True)
    return [tuple(b[-1].shape[1:]) for b in f.blocks], [len(b) for b in f.blocks], f


def test_resnet20_stages():
    shapes, counts, f = _stage_shapes("resnet20", (3, 32, 32))
    assert shapes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert counts == [3, 3, 3]
    assert f.stem.shape[1:] == (16, 32, 32)
    assert f.pooled.shape[1] == 64


def test_resnet164_is_the_hksanc_teacher():
    shapes, counts, f = _stage_shapes("resnet164", (3, 32, 32))
    assert shapes == [(64, 32, 32), (128, 16, 16), (256, 8, 8)]
    assert counts == [18, 18, 18]
    assert f.stem.shape[1:] == (16, 32, 32)


def test_wide_and_x4_stages():
    # 16x16 inputs to keep it fast: spatial 16, 8, 4 instead of 32, 16, 8
    assert _stage_shapes("resnet32x4", (3, 16, 16))[:2] == (
        [(64, 16, 16), (128, 8, 8), (256, 4, 4)],
        [5, 5, 5],
    )
    assert _stage_shapes("wrn_40_2", (3, 16, 16))[:2] == (
        [(32, 16, 16), (64, 8, 8), (128, 4, 4)],
        [6, 6, 6],
    )
    assert _stage_shapes("wrn", (3, 16, 16), depth=22, widen=4)[:2] == (
        [(64, 16, 16), (128, 8, 8), (256, 4, 4)],
        [3, 3, 3],
    )


def test_vgg_mobilenet_imagenet_stages():
    shapes, counts, f = _stage_shapes("vgg13", (3, 32, 32))
    assert shapes == [(128, 16, 16), (256, 8, 8), (512, 4, 4), (512, 4, 4)]
    assert counts == [2, 2, 2, 2] and f.stem.shape[1:] == (64, 32, 32)
    shapes, counts, f = _stage_shapes("mobilenetv2", (3, 32, 32), width_mult=0.5)
    assert shapes == [(12, 16, 16), (16, 8, 8), (32, 4, 4), (48, 4, 4), (80, 2, 2), (160, 2, 2)]
    assert counts == [2, 3, 4, 3, 3, 1] and f.stem.shape[1:] == (8, 16, 16)
    shapes, counts, f = _stage_shapes("resnet18_imagenet", (3, 32, 32))
    assert shapes == [(64, 8, 8), (128, 4, 4), (256, 2, 2), (512, 1, 1)]
    assert counts == [2, 2, 2, 2] and f.stem.shape[1:] == (64, 8, 8)


def test_digit_and_signal_stages():
    shapes, counts, f = _stage_shapes("lenet5", (1, 28, 28))
    assert shapes == [(16, 10, 10), (120, 1), (84, 1)] and counts == [1, 1, 1]
    assert f.stem.shape[1:] == (6, 28, 28)
    shapes, _, _ = _stage_shapes("lenet5", (1, 16, 16), in_size=16)
    assert shapes == [(16, 4, 4), (120, 1), (84, 1)]
    shapes, _, _ = _stage_shapes("cnn_small", (1, 28, 28), width=8)
    assert shapes == [(8, 28, 28), (16, 14, 14), (32, 7, 7)]
    shapes, _, f = _stage_shapes("cnn1d", (1, 40), width=16)
    assert shapes == [(16, 19), (16, 10), (16, 5)] and f.pooled.shape[1] == 80
    shapes, _, f = _stage_shapes("mlp", (1, 40), in_size=40, ndim=1, hidden=[32, 16, 8])
    assert shapes == [(32, 1), (16, 1), (8, 1)]
    assert f.stem.shape[1:] == (40, 1) and f.pooled.shape[1] == 8


# resnet34/50_imagenet share resnet18_imagenet's code path and are slow to initialise
@pytest.mark.parametrize("name", sorted(EXPECTED - {"resnet34_imagenet", "resnet50_imagenet"}))
def test_spec_round_trip(name):
    shape = INPUT.get(name, (3, 16, 16))
    net = MODELS.get(name)(num_classes=5, in_channels=shape[0])
    spec = json.loads(json.dumps(net.spec))  # what a checkpoint stores
    assert spec["name"] == name and spec["num_classes"] == 5
    again = build_model(spec)
    assert again.spec == net.spec
    sd, sd2 = net.state_dict(), again.state_dict()
    assert sd.keys() == sd2.keys()
    assert all(sd[k].shape == sd2[k].shape for k in sd)


def test_spec_keeps_non_default_kwargs():
    net = build_model({"name": "mlp", "in_size": 40, "ndim": 1, "hidden": (32, 32)})
    assert net.spec == {
        "name": "mlp", "num_classes": 10, "in_channels": 1, "in_size": 40, "hidden": [32, 32],
        "ndim": 1, "dropout": 0.0, "input_dropout": 0.0,
    }  # fmt: skip
    again = build_model(net.spec)
    again.load_state_dict(net.state_dict())  # strict: same architecture
    x = torch.randn(3, 1, 40)
    assert torch.equal(again(x), net(x))


def test_bad_input_errors_are_plain():
    with pytest.raises(UnknownNameError, match="unknown model 'resnet21'.*resnet20"):
        build_model({"name": "resnet21"})
    with pytest.raises(ValueError, match="'name' key"):
        build_model({"num_classes": 10})
    with pytest.raises(ValueError, match="model 'resnet20'.*widen"):
        build_model({"name": "resnet20", "widen": 2})
    with pytest.raises(ValueError, match="num_classes must be an integer >= 1, got 0"):
        build_model({"name": "vgg8", "num_classes": 0})
    with pytest.raises(ValueError, match="6n \\+ 4"):
        build_model({"name": "wrn", "depth": 15})
    with pytest.raises(ValueError, match="in_size 8 is too small"):
        build_model({"name": "lenet5", "in_size": 8})
    net = build_model({"name": "resnet20"})
    with pytest.raises(ValueError, match=r"'resnet20' expects input of shape \(N, 3, H, W\)"):
        net(torch.randn(2, 1, 32, 32))
    net = build_model({"name": "mlp"})
    with pytest.raises(ValueError, match=r"'mlp' expects input of shape \(N, 1, 28, 28\)"):
        net(torch.randn(2, 1, 16, 16))


def test_mlp_dropout_is_active_in_training_only():
    from advkt.models import build_model

    net = build_model(
        {
            "name": "mlp",
            "num_classes": 10,
            "in_channels": 1,
            "hidden": [64, 64],
            "dropout": 0.5,
            "input_dropout": 0.2,
        }
    )
    assert sum(isinstance(m, torch.nn.Dropout) for m in net.modules()) == 3
    x = torch.randn(4, 1, 28, 28)
    net.eval()
    torch.testing.assert_close(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))
    with pytest.raises(ValueError, match="dropout"):
        build_model({"name": "mlp", "num_classes": 10, "in_channels": 1, "dropout": 1.0})
