r"""The standard person re-ID evaluation (Zheng et al., ICCV 2015, Market-1501's protocol, as the
reference code of the benchmark and torchreid compute it).

For each query q, the gallery images of the same identity *and* the same camera are removed
(they are the same shot, not a re-identification), and so are junk gallery images (person id
-1: a distractor that is neither right nor wrong). The rest is ranked by distance. With
``match[r] = 1`` when the r-th ranked gallery image has q's identity:

- CMC: ``cmc[k] = 1`` from the first match's rank on (a query without any valid match is left
  out of both figures); rank-k accuracy is the mean over queries;
- AP: :math:`\frac{1}{|\text{matches}|}\sum_i \frac{i}{\text{rank of the } i\text{-th match}}`,
  the area under the precision-recall curve as the benchmark's code sums it; mAP the mean AP.
"""

from __future__ import annotations

import numpy as np


def evaluate(
    dist: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int = 10,
) -> dict:
    """``{"cmc": (max_rank,) rank-1..max_rank accuracy in %, "mAP": %, "queries": n}`` for a
    (num_query, num_gallery) distance matrix (smaller = more alike)."""
    dist = np.asarray(dist, dtype=np.float64)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    if dist.shape != (len(q_pids), len(g_pids)):
        raise ValueError(
            f"distance matrix {dist.shape} does not match {len(q_pids)} queries and "
            f"{len(g_pids)} gallery images"
        )
    order = np.argsort(dist, axis=1, kind="stable")
    cmc_sum, aps = np.zeros(max_rank), []
    for i in range(len(q_pids)):
        ranked = order[i]
        keep = ~((g_pids[ranked] == q_pids[i]) & (g_camids[ranked] == q_camids[i]))
        keep &= g_pids[ranked] != -1
        match = (g_pids[ranked][keep] == q_pids[i]).astype(np.float64)
        if not match.any():
            continue
        first = int(np.argmax(match))
        cmc = np.zeros(max_rank)
        cmc[first:] = 1.0
        cmc_sum += cmc
        hits = np.flatnonzero(match)
        aps.append(float(np.mean((np.arange(len(hits)) + 1) / (hits + 1))))
    if not aps:
        raise ValueError("no query has a valid match in the gallery (other camera, same identity)")
    return {
        "cmc": 100.0 * cmc_sum / len(aps),
        "mAP": 100.0 * float(np.mean(aps)),
        "queries": len(aps),
    }
