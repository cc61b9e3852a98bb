import numpy as np
import pytest
import torch

from advkt.graph.target import (
    adjacency,
    dense_target,
    rooted_pagerank,
    sparse_rooted_pagerank,
    sparse_target,
)


def _random_graph(n=12, p=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = (torch.rand(n, n, generator=g) < p).triu(1)
    a = a | a.T
    return torch.nonzero(a).T.contiguous()


def _series_rpr(edge_index, n, alpha, terms=200):
    """Independent: S = (1 − α) Σ_t α^t P^t in float64 numpy."""
    a = np.zeros((n, n))
    a[edge_index[0].numpy(), edge_index[1].numpy()] = 1.0
    a += np.eye(n)
    p = a / a.sum(1, keepdims=True)
    s, term = np.zeros((n, n)), np.eye(n)
    for t in range(terms):
        s += (1 - alpha) * alpha**t * term
        term = term @ p
    return s


def test_rooted_pagerank_two_nodes_by_hand():
    # A + I = ones(2, 2), P = ½·ones; (I − ½P)⁻¹ = [[1.5, .5], [.5, 1.5]]; S = ½ of that
    s = rooted_pagerank(torch.tensor([[0], [1]]), 2, alpha=0.5)
    assert torch.allclose(s, torch.tensor([[0.75, 0.25], [0.25, 0.75]]), atol=1e-6)
    t = dense_target(torch.tensor([[0], [1]]), 2)
    assert torch.allclose(t, torch.tensor([[0.625, 0.375], [0.375, 0.625]]), atol=1e-6)


@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.8])
def test_rooted_pagerank_matches_power_series(alpha):
    ei = _random_graph()
    s = rooted_pagerank(ei, 12, alpha).double().numpy()
    ref = _series_rpr(ei, 12, alpha)
    np.testing.assert_allclose(s, ref, atol=1e-5)
    np.testing.assert_allclose(s.sum(1), 1.0, atol=1e-5)
    t = dense_target(ei, 12, alpha).numpy()
    assert t.min() >= 0 and t.max() <= 1 + 1e-6
    np.testing.assert_allclose(t, ref @ ref.T, atol=1e-5)


def test_sparse_equals_dense_without_truncation():
    ei = _random_graph(n=15, seed=3)
    s = sparse_rooted_pagerank(ei, 15, 0.5, k=15, iterations=40).toarray()
    np.testing.assert_allclose(s, _series_rpr(ei, 15, 0.5), atol=1e-6)
    st = sparse_target(ei, 15, 0.5, k_s=15, k_t=15, iterations=40, chunk=4)
    t = torch.zeros(15, 15)
    t[st.row, st.col] = st.val
    assert torch.allclose(t, dense_target(ei, 15), atol=1e-5)
    assert st.num_edges == float(adjacency(ei, 15).nnz)


def test_sparse_target_keeps_top_k_per_row():
    ei = _random_graph(n=30, p=0.2, seed=1)
    st = sparse_target(ei, 30, k_s=8, k_t=5)
    counts = torch.bincount(st.row, minlength=30)
    assert int(counts.max()) <= 5
    dense = dense_target(ei, 30)
    # the kept entries are the largest of each row of the exact target, up to truncation error
    for i in range(30):
        kept = st.col[st.row == i]
        top = dense[i].topk(5).values
        assert dense[i, kept].min() >= top.min() - 0.02


def test_bad_edges_are_rejected():
    with pytest.raises(ValueError, match="outside 0..3"):
        adjacency(torch.tensor([[0, 5], [1, 2]]), 4)
    with pytest.raises(ValueError, match="shape"):
        adjacency(torch.tensor([0, 1, 2]), 4)
    with pytest.raises(ValueError, match="alpha"):
        rooted_pagerank(torch.tensor([[0], [1]]), 2, alpha=1.0)
