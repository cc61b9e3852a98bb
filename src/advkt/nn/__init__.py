"""Reusable network parts: discriminators, HKSANC's attention estimator, rank-free 1x1 layers."""

from advkt.nn.attention import AttentionEstimator, ChannelTransform, GlobalDescriptor
from advkt.nn.discriminator import LogitDiscriminator, MLPDiscriminator
from advkt.nn.pointwise import ChannelBatchNorm, Conv1x1

__all__ = [
    "AttentionEstimator",
    "ChannelBatchNorm",
    "ChannelTransform",
    "Conv1x1",
    "GlobalDescriptor",
    "LogitDiscriminator",
    "MLPDiscriminator",
]
