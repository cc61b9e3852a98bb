"""benchmarks/savgae_planetoid.py: the per-method table and the SAVGAE − ARGVA comparison paired
by seed."""

import json

from tests.benchmarks.scripts import load

bench = load("savgae_planetoid")
seed_span, summarise = bench.seed_span, bench.summarise


def _rec(method, seed, auc, acc=None, dataset="Cora"):
    r = {"method": method, "seed": seed, "dataset": dataset, "auc": auc, "ap": auc}
    if acc is not None:
        r.update(acc=acc, nmi=acc, ari=acc, f1=acc)
    return r


def _write(folder, recs):
    (folder / "records-Cora.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))


# SAVGAE and ARGVA on seeds 0-1
PAIR = [
    _rec("savgae", 0, 0.90, 0.60),
    _rec("savgae", 1, 0.92, 0.50),
    _rec("argva", 0, 0.89, 0.62),
    _rec("argva", 1, 0.90, 0.45),
]


def test_paired_difference_uses_common_seeds_only(tmp_path):
    # no SAVGAE run on seed 2: must not enter the pairing
    recs = [*PAIR, _rec("argva", 2, 0.10, 0.10)]
    _write(tmp_path, recs)
    _, table = summarise(tmp_path, "savgae-planetoid", "test")
    text = table.read_text()
    assert "| argva | 3 / 3 |" in text
    row = next(line for line in text.splitlines() if line.startswith("| savgae − argva |"))
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    assert cells.pop(0) == "0-1"  # the seeds both ran
    # AUC: +1.0 and +2.0 points -> 1.5 ± 0.7, ahead on both seeds
    assert cells[0] == "1.5 ± 0.7 (2/2)"
    # ACC: -2.0 and +5.0 -> 1.5 ± 4.9, ahead on one
    assert cells[2] == "1.5 ± 4.9 (1/2)"


def test_each_ablation_is_paired_with_savgae_after_the_peers(tmp_path):
    recs = [*PAIR, _rec("savgae-noadv", 0, 0.91, 0.55), _rec("savgae-noadv", 1, 0.90, 0.52)]
    _write(tmp_path, recs)
    lines = summarise(tmp_path, "savgae-planetoid", "test")[1].read_text().splitlines()
    first = [line.split("|")[1].strip() for line in lines if line.startswith("| savgae − ")]
    assert first == ["savgae − argva", "savgae − savgae-noadv"]
    row = lines[[line.startswith("| savgae − savgae-noadv |") for line in lines].index(True)]
    # AUC: -1.0 and +2.0 points -> 0.5 ± 2.1, ahead on one of the two seeds
    assert [c.strip() for c in row.strip("|").split("|")][2] == "0.5 ± 2.1 (1/2)"


def test_seed_span():
    assert seed_span([0, 1, 2, 5, 7, 8]) == "0-2, 5, 7-8"
    assert seed_span([3]) == "3"


def test_no_pairing_without_both_methods(tmp_path):
    recs = [_rec("gae", 0, 0.9, 0.5), _rec("gae", 1, 0.8, 0.4)]
    _write(tmp_path, recs)
    _, table = summarise(tmp_path, "savgae-planetoid", "test")
    assert "paired" not in table.read_text()


def test_peers_are_checked_against_their_published_figures(tmp_path):
    # published Cora: GAE AUC 91.0, ARGA ACC 64.0; tolerances 1.5 and 3 points below
    recs = [_rec("gae", 0, 0.900), _rec("gae", 1, 0.890), _rec("arga", 0, 0.93, 0.60)]
    recs[0]["time_link_s"] = 1.0
    _write(tmp_path, recs)
    results, table = summarise(tmp_path, "savgae-planetoid", "test")
    text = table.read_text()
    assert "- gae AUC: 89.5 against 91.0 (-1.5: within 1.5)" in text
    assert "- arga ACC: 60.0 against 64.0 (-4.0: NOT within 3)" in text
    assert "- arga NMI: 60.0 against 44.9 (+15.1)" in text  # no bar for NMI
    rows = json.loads(results.read_text())["rows"]
    gae_auc = next(r for r in rows if (r["method"], r["metric"]) == ("gae", "auc"))
    assert gae_auc["published"] == 0.91 and gae_auc["published_source"] == "Kipf & Welling 2016"
    assert "published" not in next(r for r in rows if r["metric"] == "time_link_s")
