"""``runpod._version``: version metadata of the official SDK release pitstop reproduces.

``commit_id`` is None: pitstop is not built from the official repository.
"""

from pitstop.serverless.version import SDK_VERSION, SDK_VERSION_TUPLE

__version__ = version = SDK_VERSION
__version_tuple__ = version_tuple = SDK_VERSION_TUPLE
__commit_id__ = commit_id = None

__all__ = [
    "__commit_id__",
    "__version__",
    "__version_tuple__",
    "commit_id",
    "version",
    "version_tuple",
]
