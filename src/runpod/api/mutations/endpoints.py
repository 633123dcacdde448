"""``runpod.api.mutations.endpoints``: endpoint mutations of RunPod's cloud API (unavailable)."""

from __future__ import annotations

from typing import Any

from pitstop.errors import CloudApiUnavailable

__all__ = ["generate_endpoint_mutation", "update_endpoint_template_mutation"]


def generate_endpoint_mutation(
    name: str,
    template_id: str,
    gpu_ids: str = "AMPERE_16",
    network_volume_id: str | None = None,
    locations: str | None = None,
    idle_timeout: int = 5,
    scaler_type: str = "QUEUE_DELAY",
    scaler_value: int = 4,
    workers_min: int = 0,
    workers_max: int = 3,
    flashboot: bool = False,
    allowed_cuda_versions: str | None = None,
    gpu_count: int | None = None,
) -> Any:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable("api.mutations.endpoints.generate_endpoint_mutation")


def update_endpoint_template_mutation(endpoint_id: str, template_id: str) -> Any:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable("api.mutations.endpoints.update_endpoint_template_mutation")
