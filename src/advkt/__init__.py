"""advkt: adversarial knowledge transfer on one PyTorch core."""

__version__ = "0.1.0"
