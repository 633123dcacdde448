"""``runpod.error``: the official SDK's exceptions, defined in :mod:`pitstop.errors`."""

from pitstop.errors import AuthenticationError, QueryError, RunPodError

__all__ = ["AuthenticationError", "QueryError", "RunPodError"]
