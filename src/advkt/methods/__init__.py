"""Methods, one file each; importing this package registers them all."""

from advkt.methods import at, dkd, fitnet, fsp, kd, student  # noqa: F401
