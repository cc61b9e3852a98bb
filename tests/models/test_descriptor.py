"""The descriptor head: logits read from a 128-d global descriptor, spec round trip, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advkt.models import build_model
from advkt.models.descriptor import DescriptorClassifier, add_descriptor_head


def test_descriptor_is_conv1x1_then_average_pool_for_a_pooling_backbone():
    torch.manual_seed(0)
    net = add_descriptor_head(build_model({"name": "resnet8", "num_classes": 5}), dim=16).eval()
    x = torch.randn(2, 3, 16, 16)
    logits, f = net(x, features=True)
    fc = net.fc
    last = f.stages[-1]
    conv = F.conv2d(last, fc.proj.weight.view(16, -1, 1, 1), fc.proj.bias)
    g = conv.mean(dim=(2, 3))
    torch.testing.assert_close(fc.descriptor(f.pooled), g, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logits, fc.cls(g), rtol=1e-5, atol=1e-6)


def test_spec_round_trip_and_weights():
    spec = {"name": "cnn1d", "num_classes": 10, "in_channels": 1, "width": 8}
    net = add_descriptor_head(build_model(spec), 128)
    assert net.spec["name"] == "descriptor_head" and net.spec["dim"] == 128
    again = build_model(net.spec)
    assert isinstance(again.fc, DescriptorClassifier)
    assert again.spec == net.spec
    again.load_state_dict(net.state_dict())  # same keys and shapes
    x = torch.randn(3, 1, 40)
    torch.testing.assert_close(again(x), net(x))
    # a spec written by the engine around a recipe's (default-free) backbone spec builds too
    backbone = {"name": "cnn1d", "num_classes": 10, "in_channels": 1}
    short = {"name": "descriptor_head", "num_classes": 10, "in_channels": 1, "backbone": backbone}
    assert build_model(short).fc.in_features == 32 * 5


def test_bad_specs_are_clear_errors():
    with pytest.raises(ValueError, match="needs 'backbone', a model spec"):
        build_model({"name": "descriptor_head"})
    with pytest.raises(ValueError, match="num_classes=10 but its backbone has num_classes=5"):
        build_model({"name": "descriptor_head", "backbone": {"name": "resnet8", "num_classes": 5}})
    with pytest.raises(ValueError, match="replaces a backbone's linear classifier"):
        add_descriptor_head(torch.nn.Identity())
