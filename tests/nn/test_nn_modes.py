import pytest
from torch import nn

from advkt.nn.modes import eval_mode


def test_eval_mode_restores_each_submodules_own_flag_even_after_an_error():
    frozen = nn.BatchNorm1d(3).eval()  # a frozen teacher inside a training method
    a, b = nn.Sequential(nn.Linear(3, 3), frozen).train(), nn.Linear(2, 2).train()
    frozen.eval()
    with pytest.raises(RuntimeError, match="inside"):
        with eval_mode(a, b):
            assert not any(m.training for m in [*a.modules(), *b.modules()])
            raise RuntimeError("inside")
    assert a.training and a[0].training and b.training
    assert not frozen.training  # model.train(True) would have switched it on
