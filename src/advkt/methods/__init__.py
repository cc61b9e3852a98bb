"""Methods, one file each; importing this package registers them all."""

from advkt.methods import (  # noqa: F401
    admm_prune,
    at,
    dense_flow,
    dkd,
    fitnet,
    fsp,
    hksanc,
    kd,
    robust,
    student,
)
