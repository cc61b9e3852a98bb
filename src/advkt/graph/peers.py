"""The peers as their papers ran them: GAE, VGAE (Kipf & Welling 2016) and ARGA, ARGVA (Pan et al.
IJCAI 2018), from their released TensorFlow code (tkipf/gae; Ruiqi-Hu/ARGA, built on it).

All four reconstruct the training adjacency with self-loops, T = A + I, by the weighted sigmoid
cross-entropy over all N² pairs that SAVGAE uses with its own target S Sᵀ
(:func:`advkt.graph.savgae.dense_recon_loss`), X = Z Zᵀ, w₊ = (N² − ΣA)/ΣA, norm = N²/(2(N² − ΣA)):

    L_rec = norm · (1/N²) Σ_ij [ w₊ T_ij softplus(−X_ij) + (1 − T_ij) softplus(X_ij) ]

and a variational peer adds (1/N)·KL (PyG's ``kl_loss``, which carries the −½ and the mean over
nodes, is the papers' (0.5/N)·mean_i Σ_d(1 + 2 log σ − μ² − σ²) with its sign).
GCN layers on D^-1/2 (A + I) D^-1/2 without bias, Glorot weights, raw features, no dropout.

- GAE: GCN in → 32 (ReLU) → 16; Adam 0.01 on L_rec, 200 epochs.
- VGAE: in → 32 (ReLU) → μ, log σ (16); z = μ + ε ⊙ σ; Adam 0.01 on L_rec + KL, 200 epochs.
- ARGA: in → 32 (ReLU, plus N(0, 0.1²) noise) → 32. Discriminator 32 → 64 → 32 → 1 with ReLU,
  weights N(0, 0.01²), biases 0. Per iteration, one draw p ~ N(0, I) (N × 32) as the real samples;
  5 Adam(5e-4) steps on L_rec; 1 Adam(1e-3) step of D on BCE(D(p), 1) + BCE(D(z), 0); 1 Adam(1e-3)
  step of the encoder on BCE(D(z), 1) + L_rec. Each step encodes afresh (new noise).
- ARGVA: the VGAE encoder with 32-d heads; the 5 steps on L_rec + KL; D sees the sampled z; the
  encoder's adversarial step on BCE(D(z), 1) alone (as the released code has it).
- ARGA and ARGVA: 200 iterations for link prediction, 50 for clustering (``settings.py``:
  ``iterations = 50``, link prediction ``4 * iterations``).

Ours: μ is read in eval mode, without ARGA's noise (the released code scores the embedding with
its noise); every peer sees the same raw features, training edges and seeds as SAVGAE.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import ARGA, ARGVA, GAE, VGAE, GCNConv

from advkt.graph.savgae import DenseTarget, Discriminator, VariationalGCNEncoder, dense_recon_loss
from advkt.graph.target import adjacency

PEERS = ("gae", "vgae", "arga", "argva")
EPOCHS = {"gae": 200, "vgae": 200, "arga": 200, "argva": 200}
CLUSTER_EPOCHS = {"gae": 200, "vgae": 200, "arga": 50, "argva": 50}


class GCNEncoder(nn.Module):
    """GCN in → hidden (ReLU) → out without bias; ``noise``: std of the Gaussian noise on the hidden
    layer in training (ARGA's released encoder: 0.1)."""

    def __init__(self, in_channels: int, hidden: int, out: int, noise: float = 0.0):
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden, cached=True, bias=False)
        self.conv2 = GCNConv(hidden, out, cached=True, bias=False)
        self.noise = noise

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        h = self.conv1(x, edge_index).relu()
        if self.training and self.noise:
            h = h + self.noise * torch.randn_like(h)
        return self.conv2(h, edge_index)


def _with_released_discriminator_init(model: GAE) -> GAE:
    """ARGA's ``dense`` initialisation of the discriminator: weights N(0, 0.01²), biases 0.

    Applied after construction, since PyG's ARGA resets its discriminator in ``__init__``."""
    for m in model.discriminator.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    return model


def build_peer(name: str, in_channels: int) -> GAE:
    """A fresh peer model by name (one of :data:`PEERS`)."""
    if name == "gae":
        return GAE(GCNEncoder(in_channels, 32, 16))
    if name == "vgae":
        return VGAE(VariationalGCNEncoder(in_channels, 32, 16))
    if name == "arga":
        encoder = GCNEncoder(in_channels, 32, 32, noise=0.1)
        return _with_released_discriminator_init(ARGA(encoder, Discriminator(32, 64, 32)))
    if name == "argva":
        encoder = VariationalGCNEncoder(in_channels, 32, 32)
        return _with_released_discriminator_init(ARGVA(encoder, Discriminator(32, 64, 32)))
    raise ValueError(f"unknown peer {name!r}; valid peers: {', '.join(PEERS)}")


def self_loop_target(edge_index: Tensor, num_nodes: int) -> DenseTarget:
    """T = A + I of the (training) edges, with the papers' pos_weight and norm from ΣA."""
    a = adjacency(edge_index, num_nodes)
    t = torch.from_numpy(a.toarray()).float()
    t.fill_diagonal_(1.0)
    return DenseTarget.build(t, a.nnz)


def _bce(logits: Tensor, real: bool) -> Tensor:
    fill = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, fill)


def fit_peer(
    name: str, x: Tensor, edge_index: Tensor, epochs: int | None = None, task: str = "link"
) -> GAE:
    """Train a peer as its paper's code does on ``x`` (N, F) and the training edges ``edge_index``
    (2, E); ``epochs`` (iterations for ARGA/ARGVA) defaults to the paper's for ``task``
    ("link" or "cluster"). Seed the global torch RNG before calling for a reproducible run."""
    if task not in ("link", "cluster"):
        raise ValueError(f"task must be 'link' or 'cluster', got {task!r}")
    model = build_peer(name, x.size(1))
    if epochs is None:
        epochs = (EPOCHS if task == "link" else CLUSTER_EPOCHS)[name]
    n = x.size(0)
    target = self_loop_target(edge_index, n)
    variational = name in ("vgae", "argva")

    def rec_loss() -> tuple[Tensor, Tensor]:
        z = model.encode(x, edge_index)
        loss = dense_recon_loss(z, target)
        return z, loss + (1.0 / n) * model.kl_loss() if variational else loss

    model.train()
    if name in ("gae", "vgae"):
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(epochs):
            opt.zero_grad()
            rec_loss()[1].backward()
            opt.step()
        return model
    enc = list(model.encoder.parameters())
    opt_rec = torch.optim.Adam(enc, lr=5e-4)
    opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)
    opt_g = torch.optim.Adam(enc, lr=1e-3)
    out = model.encoder.conv_mu.out_channels if variational else model.encoder.conv2.out_channels
    for _ in range(epochs):
        prior = torch.randn(n, out)
        for _ in range(5):
            opt_rec.zero_grad()
            rec_loss()[1].backward()
            opt_rec.step()
        opt_d.zero_grad()
        z = model.encode(x, edge_index).detach()
        (_bce(model.discriminator(prior), True) + _bce(model.discriminator(z), False)).backward()
        opt_d.step()
        opt_g.zero_grad()
        if variational:
            z = model.encode(x, edge_index)
            g = _bce(model.discriminator(z), True)
        else:
            z, rec = rec_loss()
            g = _bce(model.discriminator(z), True) + rec
        g.backward()
        opt_g.step()
    return model
