"""GAN-based oversampling for imbalanced data, compatible with imbalanced-learn.

The names load on first use, so that ``advkt`` commands which do not oversample do not pay
for importing imbalanced-learn and scikit-learn.
"""

from advkt.lazy import lazy_exports

_WHERE = {
    "EWGANOverSampler": "ewgan",
    "entropy_weights": "labels",
    "label_vectors": "labels",
}
__getattr__, __all__ = lazy_exports("advkt.oversample", _WHERE)
