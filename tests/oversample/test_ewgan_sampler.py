from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn

from advkt.losses import gradient_penalty
from advkt.nn.wgan import Critic, _critic_terms_gp
from advkt.oversample import EWGANOverSampler
from advkt.oversample._tabular import TabularEncoder


def _blobs(n_major=120, n_minor=20, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0.0, 1.0, (n_major, 3)), rng.normal(4.0, 0.5, (n_minor, 3))])
    y = np.array([0] * n_major + [1] * n_minor)
    return X, y


def test_counts_order_and_dtype():
    X, y = _blobs()
    X = X.astype(np.float32)
    X_res, y_res = EWGANOverSampler(n_iter=5, random_state=0).fit_resample(X, y)
    assert Counter(y_res) == {0: 120, 1: 120}
    np.testing.assert_array_equal(X_res[: len(X)], X)  # originals first, untouched
    assert X_res.dtype == np.float32 and y_res.dtype == y.dtype


@pytest.mark.parametrize("strategy, expected", [(0.5, 60), ({1: 50}, 50), ("minority", 120)])
def test_sampling_strategy(strategy, expected):
    X, y = _blobs()
    s = EWGANOverSampler(n_iter=3, sampling_strategy=strategy, random_state=0)
    _, y_res = s.fit_resample(X, y)
    assert Counter(y_res)[1] == expected
    assert s.sampling_strategy_ == {1: expected - 20}


def test_multiclass_and_label_vectors():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    y = np.array(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
    s = EWGANOverSampler(n_iter=3, random_state=0)
    _, y_res = s.fit_resample(X, y)
    assert Counter(y_res) == {"a": 60, "b": 60, "c": 60}
    p = np.array([0.6, 0.3, 0.1])
    h = -p * np.log(p)
    np.testing.assert_allclose(np.diag(s.label_vectors_), h / h.sum(), rtol=1e-6)


def test_reproducible_with_a_seed_and_varies_across_seeds():
    X, y = _blobs()
    a = EWGANOverSampler(n_iter=5, random_state=3).fit_resample(X, y)[0]
    b = EWGANOverSampler(n_iter=5, random_state=3).fit_resample(X, y)[0]
    c = EWGANOverSampler(n_iter=5, random_state=4).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[len(X) :], c[len(X) :])


def test_generated_rows_stay_in_the_training_range_and_nominal_codes_are_valid():
    X, y = _blobs()
    X[:, 1] = np.random.default_rng(0).choice([3.0, 7.0, 11.0], size=len(X))
    s = EWGANOverSampler(n_iter=5, categorical_features=[1], random_state=0)
    X_res, _ = s.fit_resample(X, y)
    new = X_res[len(X) :]
    assert set(np.unique(new[:, 1])) <= {3.0, 7.0, 11.0}
    assert (new[:, 0] >= X[:, 0].min() - 1e-9).all() and (new[:, 0] <= X[:, 0].max() + 1e-9).all()
    mask = EWGANOverSampler(n_iter=5, categorical_features=[False, True, False], random_state=0)
    np.testing.assert_array_equal(mask.fit_resample(X, y)[0], X_res)


def test_learns_the_minority_class():
    """After a short training the generated minority sits near the real minority blob (at 4),
    far from the majority blob (at 0)."""
    X, y = _blobs(n_major=200, n_minor=40)
    s = EWGANOverSampler(n_iter=300, random_state=0)
    X_res, _ = s.fit_resample(X, y)
    gen_mean = X_res[len(X) :].mean(axis=0)
    assert np.abs(gen_mean - 4.0).max() < 1.0, gen_mean
    assert s.n_iter_ == 300 and s.wasserstein_.shape == (300,)


def test_weight_clipping_and_time_budget():
    X, y = _blobs()
    s = EWGANOverSampler(penalty="clip", n_iter=5, random_state=0)
    X_res, _ = s.fit_resample(X, y)
    assert np.isfinite(X_res).all()
    t = EWGANOverSampler(n_iter=10_000, max_time=1e-3, random_state=0)
    t.fit_resample(X, y)
    assert t.n_iter_ == 1 and t.stopped_by_time_


def test_encoder_roundtrip():
    X = np.array([[0.5, 2.0, -1.0], [1.5, 5.0, 3.0], [1.0, 2.0, 1.0]])
    enc = TabularEncoder.fit(X, nominal=[1])
    Z = enc.transform(X)
    assert Z.shape == (3, 2 + 2)
    np.testing.assert_allclose(Z[:, 0], [-1, 1, 0])
    np.testing.assert_allclose(enc.inverse(Z), X)


def _linear_critic(d: int, k: int) -> Critic:
    critic = Critic(d, k, 4)
    critic.net = nn.Linear(d + k, 1)
    return critic


def test_gradient_penalty_on_a_linear_critic():
    """f(x, l) = a.x + b.l + c has grad_x f = a everywhere, so the penalty is (||a|| - 1)^2,
    and E f(real) - E f(fake) = a.(mean real - mean fake)."""
    torch.manual_seed(0)
    critic = _linear_critic(3, 2)
    a = critic.net.weight[0, :3].detach()
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    lab = torch.randn(16, 2)
    expected_gp = (a.norm() - 1.0) ** 2
    gp = gradient_penalty(lambda x: critic(x, lab), real, fake, weight=1.0)
    assert float(gp) == pytest.approx(float(expected_gp))
    w, gp = _critic_terms_gp(critic, real, fake, lab)
    assert float(gp) == pytest.approx(float(expected_gp))
    assert float(w) == pytest.approx(float(a @ (real.mean(0) - fake.mean(0))), abs=1e-5)


def test_imblearn_pipeline_and_cross_validation():
    from imblearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    X, y = _blobs()
    pipe = make_pipeline(EWGANOverSampler(n_iter=3, random_state=0), LogisticRegression())
    scores = cross_val_score(pipe, X, y, cv=3, scoring="f1")
    assert scores.shape == (3,) and np.isfinite(scores).all()


# Bad input: the errors imbalanced-learn's own samplers give, plus ours for a 1-sample class.
def test_single_class_y():
    X, _ = _blobs()
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        EWGANOverSampler(n_iter=2).fit_resample(X, np.zeros(len(X)))


@pytest.mark.parametrize("bad, match", [(np.nan, "Input X contains NaN"), (np.inf, "infinity")])
def test_non_finite_x(bad, match):
    X, y = _blobs()
    X[3, 1] = bad
    with pytest.raises(ValueError, match=match):
        EWGANOverSampler(n_iter=2).fit_resample(X, y)


def test_minority_class_with_one_sample():
    X, y = _blobs(n_minor=1)
    with pytest.raises(ValueError, match=r"at least 2 samples .* class 1 has 1"):
        EWGANOverSampler(n_iter=2).fit_resample(X, y)


def test_strategy_asking_for_fewer_samples_than_exist():
    X, y = _blobs()
    with pytest.raises(ValueError, match="should be greater or equal to the original"):
        EWGANOverSampler(n_iter=2, sampling_strategy={1: 10}).fit_resample(X, y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weighting": "entropy"}, "'weighting' parameter"),
        ({"penalty": "l2"}, "'penalty' parameter"),
        ({"categorical_features": [7]}, "out of range"),
        ({"categorical_features": [True]}, "boolean mask needs 3"),
        ({"device": "quantum"}, "not a torch device"),
    ],
)
def test_bad_parameters(kwargs, match):
    X, y = _blobs()
    with pytest.raises(ValueError, match=match):
        EWGANOverSampler(n_iter=2, **kwargs).fit_resample(X, y)


def test_sparse_input_is_refused():
    from scipy import sparse

    X, y = _blobs()
    with pytest.raises(TypeError, match="dense data is required"):
        EWGANOverSampler(n_iter=2).fit_resample(sparse.csr_matrix(X), y)


def test_a_diverging_game_stops_with_the_shared_divergence_error():
    from advkt.errors import DivergenceError
    from advkt.nn.wgan import Generator, train_wgan

    torch.manual_seed(0)
    data, labels = torch.randn(32, 3), torch.randn(32, 2)
    data[5, 1] = float("nan")  # one corrupt row: the critic's loss is NaN once it is drawn
    kw = dict(noise_dim=4, n_iter=50, n_critic=1, batch_size=32, lr=1e-3, betas=(0.5, 0.9))
    with pytest.raises(DivergenceError, match="EWGAN critic loss became non-finite at iteration 1"):
        train_wgan(
            Generator(4, 2, 8, 3, [], 3), Critic(3, 2, 8), data, labels, **kw,
            penalty="gp", lambda_gp=10.0, clip_value=0.01, max_time=None, progress=False,
        )  # fmt: skip


def test_support_ranking_puts_candidates_among_their_own_class_first():
    from advkt.oversample.ewgan import support_ranking

    real = np.array([[0.0, 0.0], [0.2, 0.0], [0.0, 0.2], [5.0, 5.0], [5.2, 5.0], [5.0, 5.2]])
    own = np.array([True, True, True, False, False, False])
    cand = np.array([[5.1, 5.1], [0.1, 0.1], [2.5, 2.5], [0.6, 0.6]])
    # 3 nearest: [0.1, 0.1] and [0.6, 0.6] have 3 own rows, the nearer first; [2.5, 2.5] has
    # 3 own rows too (its nearest three are the own ones); [5.1, 5.1] none
    assert support_ranking(cand, real, own, k=3, chunk=3).tolist() == [1, 3, 2, 0]


def test_the_support_filter_keeps_the_rows_near_the_minority():
    """A briefly trained generator spreads its rows widely (some nearest a majority row); the
    filter keeps those nearest the minority blob (at 4) and still adds exactly the rows asked
    for."""
    X, y = _blobs(n_major=200, n_minor=40)
    plain = EWGANOverSampler(n_iter=100, random_state=0)
    kept = EWGANOverSampler(n_iter=100, random_state=0, filter="support", pool=5)
    new_plain = plain.fit_resample(X, y)[0][len(X) :]
    X_res, y_res = kept.fit_resample(X, y)
    new_kept = X_res[len(X) :]
    assert len(new_kept) == len(new_plain) == 160 and (y_res[len(X) :] == 1).all()
    dist = lambda rows: np.linalg.norm(rows - 4.0, axis=1).mean()  # noqa: E731
    assert dist(new_kept) < 0.7 * dist(new_plain), (dist(new_kept), dist(new_plain))

    def nearest_is_minority(rows):
        return y[np.linalg.norm(rows[:, None] - X[None], axis=2).argmin(1)].mean()

    assert nearest_is_minority(new_kept) == 1.0 > nearest_is_minority(new_plain)


def test_safe_selection_keeps_the_draw_order_of_the_candidates_in_their_own_region():
    from advkt.oversample.ewgan import safe_selection

    real = np.array([[0.0, 0.0], [0.2, 0.0], [0.0, 0.2], [5.0, 5.0], [5.2, 5.0], [5.0, 5.2]])
    own = np.array([True, True, True, False, False, False])
    cand = np.array([[0.6, 0.6], [5.1, 5.1], [0.1, 0.1], [4.0, 4.0], [1.0, 1.0]])
    # own share among the 3 nearest: 1, 0, 1, 0, 1 -> [0, 2, 4] as drawn, then the two in the
    # majority's region by their distance to the nearest own row ([4, 4] nearer than [5.1, 5.1])
    assert safe_selection(cand, real, own, k=3, chunk=2).tolist() == [0, 2, 4, 3, 1]


def test_the_safe_filter_keeps_no_row_in_the_majority_region_and_more_spread_than_support():
    X, y = _blobs(n_major=200, n_minor=40)
    rows = {
        f: EWGANOverSampler(n_iter=100, random_state=0, filter=f, pool=5).fit_resample(X, y)[0][
            len(X) :
        ]
        for f in ("support", "safe")
    }
    assert len(rows["safe"]) == len(rows["support"]) == 160

    def minority_share(r, k=5):
        near = np.argsort(np.linalg.norm(r[:, None] - X[None], axis=2), axis=1)[:, :k]
        return y[near].mean(1)

    assert (minority_share(rows["safe"]) >= 0.5).all()
    spread = lambda r: np.linalg.norm(r - r.mean(0), axis=1).mean()  # noqa: E731
    assert spread(rows["safe"]) > spread(rows["support"]), (
        spread(rows["safe"]),
        spread(rows["support"]),
    )


def test_mmd2_by_hand():
    from advkt.oversample.ewgan import mmd2

    g = torch.Generator().manual_seed(0)
    a = torch.randn(200, 2, generator=g)
    assert mmd2(a, a) == pytest.approx(0.0, abs=1e-6)
    near = mmd2(a[:100], a[100:])  # two samples of one distribution
    far = mmd2(a[:100], a[100:] + 3.0)
    assert 0 <= near < 0.05 < far


def test_early_stopping_on_the_mmd_keeps_the_best_checked_weights():
    X, y = _blobs()
    s = EWGANOverSampler(random_state=0, n_iter=60, stop="mmd", check_every=20)
    X_res, y_res = s.fit_resample(X, y)
    assert Counter(y_res)[1] == Counter(y_res)[0]  # balanced as without the switch
    assert s.best_iteration_ in (20, 40, 60) and s.n_iter_ == 60
    again = EWGANOverSampler(random_state=0, n_iter=60, stop="mmd", check_every=20)
    assert np.array_equal(again.fit_resample(X, y)[0], X_res)  # reproducible with a seed
    plain = EWGANOverSampler(random_state=0, n_iter=60)
    plain.fit_resample(X, y)
    assert plain.best_iteration_ is None
