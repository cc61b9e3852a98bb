"""GAN-based oversampling for imbalanced data, compatible with imbalanced-learn."""

from advkt.oversample.ewgan import EWGANOverSampler
from advkt.oversample.labels import entropy_weights, label_vectors

__all__ = ["EWGANOverSampler", "entropy_weights", "label_vectors"]
