"""``runpod.api.queries.gpus``: GPU queries of RunPod's cloud API (unavailable)."""

from __future__ import annotations

from typing import Any

from pitstop.errors import CloudApiUnavailable

__all__ = ["generate_gpu_query"]


def generate_gpu_query(gpu_id: str, gpu_count: int = 1) -> Any:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable("api.queries.gpus.generate_gpu_query")
