"""Pure loss functions: tensors in, a scalar tensor out, no module state.

- :mod:`.kd`: ``kd_loss`` (Hinton et al. 2015), ``dkd_loss`` (Zhao et al. 2022);
- :mod:`.feature`: ``fitnet_loss``, ``attention_map``/``at_loss``, ``fsp_matrix``/``fsp_loss``;
- :mod:`.adversarial`: ``d_loss``/``g_loss`` for "gan", "lsgan", "hinge", "wgan",
  ``gradient_penalty`` (WGAN-GP), ``weight_penalty`` (L1 + L2 on a discriminator's weights).
"""

from advkt.losses.adversarial import KINDS, d_loss, g_loss, gradient_penalty, weight_penalty
from advkt.losses.feature import (
    at_loss,
    attention_map,
    fitnet_loss,
    fsp_loss,
    fsp_matrix,
    match_spatial,
)
from advkt.losses.kd import dkd_loss, kd_loss

__all__ = [
    "KINDS",
    "at_loss",
    "attention_map",
    "d_loss",
    "dkd_loss",
    "fitnet_loss",
    "fsp_loss",
    "fsp_matrix",
    "g_loss",
    "gradient_penalty",
    "kd_loss",
    "match_spatial",
    "weight_penalty",
]
