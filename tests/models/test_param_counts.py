"""Parameter counts against published figures and against counts done by hand."""

from __future__ import annotations

import pytest

from advkt.models import build_model
from advkt.models.profile import count_params


@pytest.mark.parametrize(
    "name, num_classes, published, rel",
    [
        ("resnet20", 10, 0.27e6, 0.02),  # He et al. 2016, Table 6
        ("resnet56", 10, 0.86e6, 0.02),  # RepDistiller / mdistiller tables
        ("resnet110", 10, 1.7e6, 0.03),  # He et al. 2016, Table 6
        ("resnet164", 10, 1.7e6, 0.03),  # He et al. 2016 (pre-act paper), bottleneck 164
        ("wrn_40_2", 100, 2.26e6, 0.02),  # RepDistiller (CIFAR-100)
        ("resnet32x4", 100, 7.43e6, 0.01),  # RepDistiller (CIFAR-100)
        ("resnet8x4", 100, 1.23e6, 0.01),
        ("vgg13", 100, 9.46e6, 0.01),
        ("vgg8", 100, 3.96e6, 0.01),
        ("mobilenetv2", 100, 0.81e6, 0.01),  # RepDistiller's MobileNetV2 = width 0.5
    ],
)
def test_published_counts(name, num_classes, published, rel):
    kw = {"width_mult": 0.5} if name == "mobilenetv2" else {}
    n = count_params(build_model({"name": name, "num_classes": num_classes, **kw}))
    assert abs(n - published) / published < rel, n


@pytest.mark.parametrize(
    "name, exact",
    [
        ("resnet18_imagenet", 11_689_512),  # torchvision resnet18
        ("resnet34_imagenet", 21_797_672),  # torchvision resnet34
        ("resnet50_imagenet", 25_557_032),  # torchvision resnet50
    ],
)
def test_imagenet_counts_exact(name, exact):
    assert count_params(build_model({"name": name, "num_classes": 1000})) == exact


def _basic_block(c_in, c):  # two 3x3 convs + two BNs, projection (1x1 conv + BN) if c_in != c
    return 9 * c_in * c + 9 * c * c + 4 * c + (c_in * c + 2 * c if c_in != c else 0)


def test_resnet20_by_hand():
    k = 10
    n = 3 * 16 * 9 + 2 * 16  # stem conv + BN
    c_in = 16
    for c in (16, 32, 64):
        n += _basic_block(c_in, c) + 2 * _basic_block(c, c)
        c_in = c
    n += 64 * k + k
    assert count_params(build_model({"name": "resnet20", "num_classes": k})) == n == 272_474


def test_lenet5_by_hand():
    n = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert n == 61_706
    assert count_params(build_model({"name": "lenet5"})) == n


def test_mlp_and_cnn1d_by_hand():
    n = (784 * 100 + 100) + (100 * 50 + 50) + (50 * 10 + 10)
    assert count_params(build_model({"name": "mlp", "hidden": [100, 50]})) == n
    w = 25  # greydanus/mnist1d ConvBase: channels 25, linear_in 125
    n = (5 * w + w) + 2 * (3 * w * w + w) + (w * 5 * 10 + 10)
    assert count_params(build_model({"name": "cnn1d", "width": w})) == n
