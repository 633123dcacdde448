"""``runpod.api.queries.pods``: pod queries of RunPod's cloud API (unavailable)."""

from __future__ import annotations

from typing import Any

from pitstop.errors import CloudApiUnavailable

__all__ = ["generate_pod_query"]


def generate_pod_query(pod_id: str) -> Any:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable("api.queries.pods.generate_pod_query")
