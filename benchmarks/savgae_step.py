"""One dense SAVGAE reconstruction step on Cora: advkt's fused loss against plain PyTorch.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/savgae_step.py

Both steps run the same encoder, Adam update and loss value (weighted BCE of Z Zᵀ against S Sᵀ);
"pytorch" uses ``F.binary_cross_entropy_with_logits(z @ z.T, T, pos_weight=w₊)``. The two are
interleaved over rounds, one thread; prints the median seconds of each and their ratio.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from advkt.graph.data import load_planetoid
from advkt.graph.savgae import SAVGAE, Discriminator, VariationalGCNEncoder
from advkt.graph.train import build_target

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    torch.manual_seed(0)
    data = load_planetoid("Cora", ROOT.parent / "shared" / "data")
    n, ei = data.num_nodes, data.edge_index
    tgt = build_target(ei, n)
    model = SAVGAE(VariationalGCNEncoder(data.x.size(1)), Discriminator())
    opt = torch.optim.Adam(model.encoder.parameters(), lr=5e-4)
    pw = torch.tensor(tgt.pos_weight)

    def ours():
        return model.recon_loss(model.encode(data.x, ei), tgt)

    def pytorch():
        z = model.encode(data.x, ei)
        return tgt.norm * F.binary_cross_entropy_with_logits(z @ z.T, tgt.target, pos_weight=pw)

    def step(loss_fn):
        opt.zero_grad()
        (loss_fn() + model.kl_loss() / n).backward()
        opt.step()

    times = {"advkt": [], "pytorch": []}
    for fn in (ours, pytorch):
        step(fn)  # warm-up
    for _ in range(10):
        for name, fn in (("advkt", ours), ("pytorch", pytorch)):
            t0 = time.perf_counter()
            for _ in range(5):
                step(fn)
            times[name].append((time.perf_counter() - t0) / 5)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"median step s: advkt {med['advkt']:.4f}, pytorch {med['pytorch']:.4f}; "
        f"advkt / pytorch = {med['advkt'] / med['pytorch']:.2f} (10 rounds x 5 steps, "
        f"{torch.get_num_threads()} thread)"
    )
