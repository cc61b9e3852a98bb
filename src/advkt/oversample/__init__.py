"""GAN-based oversampling for imbalanced data, compatible with imbalanced-learn.

The names load on first use, so that ``advkt`` commands which do not oversample do not pay
for importing imbalanced-learn and scikit-learn.
"""

from importlib import import_module

_WHERE = {
    "EWGANOverSampler": "advkt.oversample.ewgan",
    "entropy_weights": "advkt.oversample.labels",
    "label_vectors": "advkt.oversample.labels",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'advkt.oversample' has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)
