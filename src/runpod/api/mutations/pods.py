"""``runpod.api.mutations.pods``: pod mutations of RunPod's cloud API (unavailable)."""

from __future__ import annotations

from typing import Any

from pitstop.errors import CloudApiUnavailable

__all__ = [
    "generate_pod_deployment_mutation",
    "generate_pod_resume_mutation",
    "generate_pod_stop_mutation",
    "generate_pod_terminate_mutation",
]


def generate_pod_deployment_mutation(
    name: str,
    image_name: str,
    gpu_type_id: str | None = None,
    cloud_type: str = "ALL",
    support_public_ip: bool = True,
    start_ssh: bool = True,
    data_center_id: str | None = None,
    country_code: str | None = None,
    gpu_count: int | None = None,
    volume_in_gb: int | None = None,
    container_disk_in_gb: int | None = None,
    min_vcpu_count: int | None = None,
    min_memory_in_gb: int | None = None,
    docker_args: str | None = None,
    ports: str | None = None,
    volume_mount_path: str | None = None,
    env: dict[str, Any] | None = None,
    template_id: str | None = None,
    network_volume_id: str | None = None,
    allowed_cuda_versions: list[str] | None = None,
    min_download: int | None = None,
    min_upload: int | None = None,
    instance_id: str | None = None,
) -> str:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable("api.mutations.pods.generate_pod_deployment_mutation")


def generate_pod_stop_mutation(pod_id: str) -> str:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable("api.mutations.pods.generate_pod_stop_mutation")


def generate_pod_resume_mutation(pod_id: str, gpu_count: int) -> str:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable("api.mutations.pods.generate_pod_resume_mutation")


def generate_pod_terminate_mutation(pod_id: str) -> str:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable("api.mutations.pods.generate_pod_terminate_mutation")
