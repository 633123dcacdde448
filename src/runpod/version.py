"""``runpod.version``: the official SDK version pitstop is compatible with.

``get_version()`` and ``__version__`` are ``"1.12.0"`` (pitstop's own version is
``pitstop.__version__``).
"""

from pitstop.serverless.version import SDK_VERSION


def get_version() -> str:
    """The runpod SDK version whose API this package provides."""
    return SDK_VERSION


__version__ = get_version()
