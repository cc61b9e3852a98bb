"""Methods, one file each; importing this package registers them all."""

from advkt.methods import admm_prune, at, dkd, fitnet, fsp, hksanc, kd, robust, student  # noqa: F401
