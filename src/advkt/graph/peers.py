"""The peers, as PyTorch Geometric ships them: GAE, VGAE, ARGA, ARGVA, with their examples' setup.

- GAE / VGAE (PyG ``examples/autoencoder.py``): GCN in → 32 → 16, Adam 0.01, 400 epochs,
  negative-sampled ``recon_loss`` (+ (1/N)·KL for VGAE).
- ARGA / ARGVA (PyG ``examples/argva_node_clustering.py``): GCN in → 32 → 32, discriminator
  32 → 64 → 64 → 32 (its logits are averaged by PyG's losses), Adam 0.005 (encoder) and 0.001
  (discriminator), 5 discriminator steps per epoch, 150 epochs; loss recon + reg (+ (1/N)·KL).

Ours: every peer sees the same raw features, training edges and seeds as SAVGAE (PyG's
autoencoder example row-normalises the features; we do not, for one input across methods).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import ARGA, ARGVA, GAE, VGAE, GCNConv

from advkt.graph.savgae import VariationalGCNEncoder

PEERS = ("gae", "vgae", "arga", "argva")
EPOCHS = {"gae": 400, "vgae": 400, "arga": 150, "argva": 150}


class GCNEncoder(nn.Module):
    def __init__(self, in_channels: int, hidden: int, out: int):
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden, cached=True)
        self.conv2 = GCNConv(hidden, out, cached=True)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.conv2(self.conv1(x, edge_index).relu(), edge_index)


class PeerDiscriminator(nn.Module):
    """PyG example's discriminator: Linear 32 → 64, 64 → 64, 64 → 32 with ReLU."""

    def __init__(self, in_channels: int = 32, hidden: int = 64, out: int = 32):
        super().__init__()
        self.lin1 = nn.Linear(in_channels, hidden)
        self.lin2 = nn.Linear(hidden, hidden)
        self.lin3 = nn.Linear(hidden, out)

    def forward(self, x: Tensor) -> Tensor:
        return self.lin3(self.lin2(self.lin1(x).relu()).relu())


def build_peer(name: str, in_channels: int) -> GAE:
    """A fresh peer model by name (one of :data:`PEERS`)."""
    if name == "gae":
        return GAE(GCNEncoder(in_channels, 32, 16))
    if name == "vgae":
        return VGAE(VariationalGCNEncoder(in_channels, 32, 16, bias=True))
    if name == "arga":
        return ARGA(GCNEncoder(in_channels, 32, 32), PeerDiscriminator())
    if name == "argva":
        return ARGVA(VariationalGCNEncoder(in_channels, 32, 32, bias=True), PeerDiscriminator())
    raise ValueError(f"unknown peer {name!r}; valid peers: {', '.join(PEERS)}")


def fit_peer(
    name: str, x: Tensor, edge_index: Tensor, pos_edges: Tensor, epochs: int | None = None
) -> GAE:
    """Train a peer as its PyG example does; ``pos_edges`` are the training edges (2, E)."""
    model = build_peer(name, x.size(1))
    epochs = EPOCHS[name] if epochs is None else epochs
    n = x.size(0)
    variational = name in ("vgae", "argva")
    if name in ("gae", "vgae"):
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(epochs):
            model.train()
            opt.zero_grad()
            z = model.encode(x, edge_index)
            loss = model.recon_loss(z, pos_edges)
            if variational:
                loss = loss + (1 / n) * model.kl_loss()
            loss.backward()
            opt.step()
        return model
    enc_opt = torch.optim.Adam(model.encoder.parameters(), lr=0.005)
    disc_opt = torch.optim.Adam(model.discriminator.parameters(), lr=0.001)
    for _ in range(epochs):
        model.train()
        enc_opt.zero_grad()
        z = model.encode(x, edge_index)
        for _ in range(5):
            disc_opt.zero_grad()
            model.discriminator_loss(z).backward()
            disc_opt.step()
        loss = model.recon_loss(z, pos_edges) + model.reg_loss(z)
        if variational:
            loss = loss + (1 / n) * model.kl_loss()
        loss.backward()
        enc_opt.step()
    return model
