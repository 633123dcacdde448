"""``runpod.api.mutations.templates``: template mutations of RunPod's cloud API (unavailable)."""

from __future__ import annotations

from typing import Any

from pitstop.errors import CloudApiUnavailable

__all__ = ["generate_pod_template"]


def generate_pod_template(
    name: str,
    image_name: str,
    docker_start_cmd: str | None = None,
    container_disk_in_gb: int = 10,
    volume_in_gb: int | None = None,
    volume_mount_path: str | None = None,
    ports: str | None = None,
    env: dict[str, Any] | None = None,
    is_serverless: bool = False,
    registry_auth_id: str | None = None,
) -> Any:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable("api.mutations.templates.generate_pod_template")
