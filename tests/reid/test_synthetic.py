"""The synthetic re-ID set: seeded, identities that keep their attributes across cameras, a
Market-1501 folder the reader takes, and identities that colour histograms alone already tell
apart across cameras well above chance (the set is learnable, not trivial noise)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from advkt.reid.evaluate import evaluate
from advkt.reid.layouts import market1501
from advkt.reid.synthetic import COLOURS, person, render, write_market


def test_render_is_seeded_and_shaped():
    a, b = render(6, 3, 2, seed=1), render(6, 3, 2, seed=1)
    assert a.images.shape == (36, 3, 64, 32) and a.images.dtype == np.uint8
    assert np.array_equal(a.images, b.images) and a.captions == b.captions
    assert not np.array_equal(a.images, render(6, 3, 2, seed=2).images)
    assert a.pids.tolist() == [p for p in range(1, 7) for _ in range(6)]
    assert a.camids.tolist()[:6] == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="n_cams >= 2"):
        render(3, 1, 2)


def test_an_identity_keeps_its_attributes_and_its_caption_names_them():
    p = person(7)
    assert p == person(7) and p != person(8)
    text = p.caption()
    assert p.hair in text and p.top in text and p.bottom in text
    assert ("carrying" in text) == (p.item != "none")
    assert {p.top, p.bottom, p.item_colour} <= set(COLOURS)


def _histograms(images: np.ndarray, bins: int = 4) -> np.ndarray:
    """Colour histograms of each image's person: the pixels far from the background (the median
    of the border columns, row by row), grey-world balanced so that a camera's gain and colour
    cast cancel. A hand-made descriptor, to show the identities are there to be found."""
    out = []
    for im in images.astype(np.float64):
        im = im.transpose(1, 2, 0)
        bg = np.median(np.concatenate([im[:, :3], im[:, -3:]], 1), axis=1, keepdims=True)
        px = im[np.abs(im - bg).sum(-1) > 60]
        px = px / px.mean(0, keepdims=True) * 128
        q = np.clip(px * bins // 256, 0, bins - 1).astype(int)
        h = np.bincount(q[:, 0] * bins * bins + q[:, 1] * bins + q[:, 2], minlength=bins**3)
        out.append(h / h.sum())
    return np.stack(out)


def test_the_market_folder_reads_back_and_histograms_re_identify_above_chance(tmp_path):
    r = render(30, 4, 3, seed=0)
    write_market(r, tmp_path, train_ids=10)
    d = market1501(tmp_path)
    assert len(d["train"]) == 10 * 4 * 3 and {im.label for im in d["train"]} == set(range(10))
    assert len(d["query"]) == 20 * 4  # one a (test identity, camera)
    assert len(d["gallery"]) == 20 * 4 * 2
    assert {im.camid for im in d["query"]} == {0, 1, 2, 3}
    captions = json.loads((tmp_path / "Market-1501-v15.09.15" / "captions.json").read_text())
    assert len(captions) == 30 and captions["0007"] == person(7).caption()
    from PIL import Image

    def feats(images):
        return _histograms(np.stack([np.asarray(Image.open(im.path)).transpose(2, 0, 1)
                                     for im in images]))  # fmt: skip

    q, g = feats(d["query"]), feats(d["gallery"])
    dist = ((q[:, None] - g[None]) ** 2).sum(-1)
    res = evaluate(dist, np.array([im.pid for im in d["query"]]),
                   np.array([im.pid for im in d["gallery"]]),
                   np.array([im.camid for im in d["query"]]),
                   np.array([im.camid for im in d["gallery"]]))  # fmt: skip
    chance = 100 / 20
    assert res["cmc"][0] > 3 * chance and res["mAP"] > 2 * chance
    assert res["cmc"][0] < 100  # the cameras make it a problem, not a lookup
