"""Methods, one file each; importing this package registers them all."""

from advkt.methods import (  # noqa: F401
    aaanet,
    admm_prune,
    at,
    biat,
    dann,
    dense_flow,
    dkd,
    ent,
    fitnet,
    fsp,
    hksanc,
    kd,
    mme,
    robust,
    student,
    triplet,
    vat,
)
