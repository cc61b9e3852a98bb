"""ADMM weight pruning, the baseline of Ye et al., "Adversarial Robustness vs. Model Compression,
or Both?", ICCV 2019 (robust_compression.md).

The constrained problem min_W L(W) s.t. W ∈ S (S: at most k non-zero weights) is split with an
auxiliary Z ∈ S and a scaled dual U (one copy of each per prunable weight tensor):
    W-step: a few SGD steps on  L(W) + ρ/2·Σ_l ‖W_l − Z_l + U_l‖²   (:meth:`ADMM.penalty`)
    Z-step: Z ← Π_S(W + U)      (keep the k largest magnitudes, per layer or globally)
    U-step: U ← U + W − Z       (:meth:`ADMM.update`, every few hundred steps)
and, at the end, a hard prune W ← Π_S(W) whose masks are kept fixed during fine-tuning
(:meth:`ADMM.prune` and :func:`advkt.pruning.apply_masks`). With adversarial training L is the loss
on PGD examples. Z and U are the two extra copies of every weight that make ADMM heavier in
memory than the proximal method (:meth:`ADMM.state_bytes`).
"""

from __future__ import annotations

import torch
from torch import nn

from advkt.pruning.masks import (
    apply_masks,
    keep_count,
    magnitude_masks,
    prunable_weights,
    target_sparsity,
    topk_mask,
)


class ADMM:
    """ADMM pruning state for ``model``'s conv and linear weights.

    rate: target compression rate |Ω|/#non-zero (or give ``sparsity`` instead); rho: penalty ρ;
    scope: "layer" keeps the same fraction in every layer (Ye et al.), "global" ranks all weights
    together. A training loop adds :meth:`penalty` to its loss each step and calls
    :meth:`update` every k steps, then :meth:`prune` once and fine-tunes with the masks.
    """

    def __init__(
        self,
        model: nn.Module,
        rate: float | None = None,
        rho: float = 1e-3,
        sparsity: float | None = None,
        scope: str = "layer",
    ) -> None:
        if scope not in ("layer", "global"):
            raise ValueError(f"ADMM scope must be 'layer' or 'global', got '{scope}'")
        if not rho > 0:
            raise ValueError(f"ADMM rho must be > 0, got {rho}")
        self.model = model
        self.sparsity = target_sparsity(sparsity, rate)
        self.rho = rho
        self.scope = scope
        self.params = dict(prunable_weights(model))
        if not self.params:
            raise ValueError("ADMM: model has no prunable (conv or linear) weights")
        with torch.no_grad():
            self.U = {n: torch.zeros_like(w) for n, w in self.params.items()}
            self.Z = self.project({n: w.detach() for n, w in self.params.items()})

    def project(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Π_S: Euclidean projection onto the sparsity set (keep the k largest |·|, zero others)."""
        if self.scope == "layer":
            return {
                n: t * topk_mask(t, keep_count(t.numel(), self.sparsity))
                for n, t in tensors.items()
            }
        flat = torch.cat([t.abs().flatten().float() for t in tensors.values()])
        keep = topk_mask(flat, keep_count(flat.numel(), self.sparsity))
        out, i = {}, 0
        for n, t in tensors.items():
            out[n] = t * keep[i : i + t.numel()].view_as(t)
            i += t.numel()
        return out

    def penalty(self) -> torch.Tensor:
        """ρ/2·Σ_l ‖W_l − Z_l + U_l‖², differentiable in W (Z and U are constants)."""
        return (
            0.5
            * self.rho
            * sum((w - self.Z[n] + self.U[n]).pow(2).sum() for n, w in self.params.items())
        )

    @torch.no_grad()
    def update(self) -> dict[str, float]:
        """Z ← Π_S(W + U); U ← U + W − Z. Returns the primal residual Σ‖W − Z‖² for logging."""
        z = self.project({n: w.detach() + self.U[n] for n, w in self.params.items()})
        residual = 0.0
        for n, w in self.params.items():
            self.Z[n].copy_(z[n])  # in place: a caller may hold Z and U as module buffers
            diff = w.detach() - self.Z[n]
            self.U[n] += diff
            residual += float(diff.pow(2).sum())
        return {"admm_residual": residual}

    @torch.no_grad()
    def prune(self) -> dict[str, torch.Tensor]:
        """Hard prune W ← Π_S(W) in place; returns the masks to keep applying while fine-tuning."""
        if self.scope == "layer":
            masks = {
                n: topk_mask(w, keep_count(w.numel(), self.sparsity))
                for n, w in self.params.items()
            }
        else:
            masks = magnitude_masks(self.model, sparsity=self.sparsity, scope="global")
        apply_masks(self.model, masks)
        return masks

    def state_bytes(self) -> int:
        """Bytes held by Z and U (the memory ADMM needs beyond the model and optimiser)."""
        return sum(t.numel() * t.element_size() for d in (self.Z, self.U) for t in d.values())

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Z and U as flat tensors, for an exact resume (safetensors-compatible)."""
        return {
            **{f"Z.{n}": t.clone() for n, t in self.Z.items()},
            **{f"U.{n}": t.clone() for n, t in self.U.items()},
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        expected = {f"{k}.{n}" for k in ("Z", "U") for n in self.params}
        if set(state) != expected:
            missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
            raise ValueError(f"ADMM state mismatch: missing {missing}, unexpected {extra}")
        for n, w in self.params.items():
            self.Z[n] = state[f"Z.{n}"].to(w.device, w.dtype).clone()
            self.U[n] = state[f"U.{n}"].to(w.device, w.dtype).clone()
