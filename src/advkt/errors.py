"""The error every training loop of the library raises when its game diverges."""


class DivergenceError(RuntimeError, FloatingPointError):
    """A loss became NaN or infinite; the message names the loss and where it happened (and, in
    the classifier engine, the last good checkpoint). Also a ``FloatingPointError``."""
