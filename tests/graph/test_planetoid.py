"""Integration tests on the real Planetoid files in ../shared/data (read-only)."""

import fcntl
import json
import random
import threading

import pytest
import torch

from advkt.data.base import DataError
from advkt.graph.cli import main
from advkt.graph.data import load_planetoid, planetoid_cache, split_edges
from advkt.graph.run import run_one


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("advkt-cache")


def test_cora_loads_through_a_cache(shared_data, cache):
    data = load_planetoid("Cora", shared_data, cache)
    assert data.num_nodes == 2708 and data.x.shape == (2708, 1433)
    assert data.edge_index.size(1) == 10556 and int(data.y.max()) == 6
    (work,) = (cache / "planetoid").glob("Cora-*")  # one folder, named by the files' content
    assert (work / "Cora" / "processed").is_dir()
    assert not (shared_data / "planetoid" / "Cora" / "processed").exists()


def test_split_is_85_5_10_and_reproducible(shared_data, cache):
    data = load_planetoid("Cora", shared_data, cache)
    random.seed(1)  # PyG draws the negative pairs from Python's random: split_edges seeds it
    a = split_edges(data, 3)
    random.seed(2)
    b, c = split_edges(data, 3), split_edges(data, 4)
    assert torch.equal(a.test_neg, b.test_neg) and torch.equal(a.val_neg, b.val_neg)
    assert random.random() == random.Random(2).random()  # the caller's state is left alone
    e = data.edge_index.size(1) // 2
    assert a.test_pos.size(1) == a.test_neg.size(1) == int(0.10 * e)
    assert a.val_pos.size(1) == a.val_neg.size(1) == int(0.05 * e)
    assert a.train_pos.size(1) == e - a.test_pos.size(1) - a.val_pos.size(1)
    assert a.train_edge_index.size(1) == 2 * a.train_pos.size(1)
    assert torch.equal(a.test_pos, b.test_pos) and not torch.equal(a.test_pos, c.test_pos)
    train = set(map(tuple, a.train_pos.T.tolist()))
    assert not train & set(map(tuple, a.test_pos.T.tolist()))


def test_a_second_process_waits_while_one_processes(shared_data, tmp_path):
    """Two benchmark processes started at once once crashed: one read the processed/ file the
    other was still writing. While the cache folder's lock is held, a load must wait."""
    raw = shared_data / "planetoid" / "Cora" / "raw"
    work = planetoid_cache("Cora", raw, tmp_path)
    work.mkdir(parents=True, exist_ok=True)
    out = []
    with open(work / ".process.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as another process mid-way through processing
        loader = threading.Thread(
            target=lambda: out.append(load_planetoid("Cora", shared_data, tmp_path))
        )
        loader.start()
        loader.join(timeout=1.0)
        assert loader.is_alive() and not out  # waiting, not reading
    loader.join(timeout=60)
    assert out and out[0].num_nodes == 2708


def test_missing_files_are_named(tmp_path):
    (tmp_path / "planetoid" / "Cora" / "raw").mkdir(parents=True)
    with pytest.raises(DataError, match="ind.cora.graph"):
        load_planetoid("Cora", tmp_path, tmp_path / "cache")
    with pytest.raises(DataError, match="available: Cora, CiteSeer"):
        load_planetoid("PubMed", tmp_path)


class _RunsCode:
    """Pickles as a call of os.system: what a planted Planetoid file would do on load."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused_before_pyg_reads_it(shared_data, tmp_path):
    import pickle
    import shutil

    raw = tmp_path / "planetoid" / "Cora" / "raw"
    shutil.copytree(shared_data / "planetoid" / "Cora" / "raw", raw)
    marker = tmp_path / "ran"
    (raw / "ind.cora.graph").write_bytes(pickle.dumps(_RunsCode(marker), protocol=2))
    with pytest.raises(DataError, match=r"ind\.cora\.graph: refused or corrupt .*system"):
        load_planetoid("Cora", tmp_path, tmp_path / "cache")
    assert not marker.exists()
    (raw / "ind.cora.graph").write_bytes(b"\x80\x02}q")  # cut short
    with pytest.raises(DataError, match="truncated"):
        load_planetoid("Cora", tmp_path, tmp_path / "cache")


def test_cli_train_savgae_a_few_iterations(shared_data, cache, tmp_path):
    args = ["graph", "train", "--dataset", "Cora", "--method", "savgae", "--iterations", "3"]
    args += ["--data-root", str(shared_data), "--cache", str(cache), "--out", str(tmp_path)]
    assert main(args) == 0
    rec = json.loads((tmp_path / "metrics.json").read_text())
    assert rec["method"] == "savgae" and 0.5 < rec["auc"] <= 1.0 and 0.5 < rec["ap"] <= 1.0


def test_cli_reports_bad_input(tmp_path, capsys):
    assert main(["graph", "train", "--data-root", str(tmp_path), "--cache", str(tmp_path)]) == 2
    assert "lacks the Planetoid files" in capsys.readouterr().err


def test_a_peer_run_is_reproducible_whatever_the_random_state(shared_data, cache):
    data = load_planetoid("Cora", shared_data, cache)
    split = split_edges(data, 0)
    recs = []
    for state in (1, 2):  # GAE's loss samples negatives from Python's random: run_one seeds it
        random.seed(state)
        recs.append(run_one("gae", data, split, 0, ("link",), iterations=3)[0])
    assert recs[0]["auc"] == recs[1]["auc"]


def test_the_cache_follows_the_root_and_the_content(shared_data, tmp_path):
    """A second root is read, not the first one's links; a removed first root is no error; a
    changed file gets its own processed cache."""
    import shutil

    from advkt.graph.data import planetoid_cache

    src = shared_data / "planetoid" / "Cora" / "raw"
    roots = []
    for k in ("a", "b"):
        raw = tmp_path / k / "planetoid" / "Cora" / "raw"
        shutil.copytree(src, raw)
        roots.append(raw)
    cache = tmp_path / "cache"
    first = load_planetoid("Cora", tmp_path / "a", cache)
    shutil.rmtree(tmp_path / "a")  # the first root is gone: its links would dangle
    second = load_planetoid("Cora", tmp_path / "b", cache)
    assert torch.equal(first.x, second.x) and torch.equal(first.edge_index, second.edge_index)
    work = planetoid_cache("Cora", roots[1], cache)
    assert (work / "Cora" / "raw" / "ind.cora.x").resolve() == (roots[1] / "ind.cora.x").resolve()
    index = roots[1] / "ind.cora.test.index"
    index.write_text(index.read_text() + "\n")  # the same numbers, other bytes
    assert planetoid_cache("Cora", roots[1], cache) != work
