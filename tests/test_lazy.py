import subprocess
import sys

import pytest

from advkt.lazy import lazy_exports


def test_lazy_exports_resolve_on_use_and_reject_unknown_names():
    getattr_, all_ = lazy_exports("advkt", {"write_text_atomic": "atomic", "load_recipe": "recipe"})
    assert all_ == ["load_recipe", "write_text_atomic"]
    from advkt.recipe import load_recipe

    assert getattr_("load_recipe") is load_recipe
    with pytest.raises(AttributeError, match="'advkt' has no attribute 'nope'"):
        getattr_("nope")


def test_graph_package_imports_pyg_only_when_a_name_is_used():
    code = (
        "import sys, advkt.graph as g; before = 'torch_geometric' in sys.modules; "
        "g.PEERS; print(before, 'torch_geometric' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
