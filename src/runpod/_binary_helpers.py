"""``runpod._binary_helpers``: pitstop bundles no binaries; ``get_binary_path`` honours only
the ``RUNPOD_BINARY_<NAME>_PATH`` override."""

from pitstop.serverless.sdk.runner import get_binary_path

__all__ = ["get_binary_path"]
