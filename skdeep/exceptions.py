"""Exceptions and warnings raised by skdeep.

Each joins the scikit-learn exception it specialises, so code written for
scikit-learn (``except NotFittedError``) keeps working.
"""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "IntegrityError",
    "NotFittedError",
    "SkdeepError",
    "SkdeepWarning",
    "VersionMismatchWarning",
]


class SkdeepError(Exception):
    """Base class of every error raised by skdeep itself."""


class NotFittedError(SkdeepError, _SklearnNotFittedError):
    """An estimator was used before ``fit`` was called.

    Subclass of :class:`sklearn.exceptions.NotFittedError` (and so of
    ``ValueError`` and ``AttributeError``).
    """


class IntegrityError(SkdeepError, ValueError):
    """A saved file is corrupt, truncated or not a skdeep file."""


class SkdeepWarning(UserWarning):
    """Base class of every warning issued by skdeep."""


class VersionMismatchWarning(SkdeepWarning):
    """A file was saved with library versions that differ from the running ones."""
