"""``runpod.api.ctl_commands``: RunPod's cloud commands, each raising CloudApiUnavailable.

The signatures are the official SDK 1.12.0's, so code that merely imports or references
them keeps working; calling one raises :class:`pitstop.errors.CloudApiUnavailable` at once
(no network call, no result).
"""

from __future__ import annotations

from typing import Any

from pitstop.errors import CloudApiUnavailable
from runpod.api import CLOUD_COMMANDS
from runpod.api.graphql import run_graphql_query

__all__ = [*CLOUD_COMMANDS, "run_graphql_query"]


def get_user(api_key: str | None = None) -> dict[str, Any]:
    """The RunPod account (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("get_user")


def update_user_settings(pubkey: str, api_key: str | None = None) -> dict[str, Any]:
    """Set the account's SSH public key (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("update_user_settings")


def get_gpus(api_key: str | None = None) -> dict[str, Any]:
    """List GPU types (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("get_gpus")


def get_gpu(gpu_id: str, gpu_quantity: int = 1, api_key: str | None = None) -> Any:
    """One GPU type (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("get_gpu")


def get_pods(api_key: str | None = None) -> dict[str, Any]:
    """List pods (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("get_pods")


def get_pod(pod_id: str, api_key: str | None = None) -> Any:
    """One pod (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("get_pod")


def create_pod(
    name: str,
    image_name: str | None = "",
    gpu_type_id: str | None = None,
    cloud_type: str = "ALL",
    support_public_ip: bool = True,
    start_ssh: bool = True,
    data_center_id: str | None = None,
    country_code: str | None = None,
    gpu_count: int = 1,
    volume_in_gb: int = 0,
    container_disk_in_gb: int | None = None,
    min_vcpu_count: int = 1,
    min_memory_in_gb: int = 1,
    docker_args: str = "",
    ports: str | None = None,
    volume_mount_path: str = "/runpod-volume",
    env: dict[str, Any] | None = None,
    template_id: str | None = None,
    network_volume_id: str | None = None,
    allowed_cuda_versions: list[str] | None = None,
    min_download: Any = None,
    min_upload: Any = None,
    instance_id: str | None = None,
) -> dict[str, Any]:
    """Deploy a pod (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("create_pod")


def stop_pod(pod_id: str) -> Any:
    """Stop a pod (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("stop_pod")


def resume_pod(pod_id: str, gpu_count: int) -> Any:
    """Resume a pod (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("resume_pod")


def terminate_pod(pod_id: str) -> Any:
    """Terminate a pod (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("terminate_pod")


def create_template(
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
    """Create a template (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("create_template")


def get_endpoints() -> dict[str, Any]:
    """List serverless endpoints (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("get_endpoints")


def create_endpoint(
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
    gpu_count: int = 1,
) -> Any:
    """Create a serverless endpoint (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("create_endpoint")


def update_endpoint_template(endpoint_id: str, template_id: str) -> Any:
    """Point an endpoint at a template (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("update_endpoint_template")


def create_container_registry_auth(name: str, username: str, password: str) -> Any:
    """Store registry credentials (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("create_container_registry_auth")


def update_container_registry_auth(registry_auth_id: str, username: str, password: str) -> Any:
    """Update registry credentials (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("update_container_registry_auth")


def delete_container_registry_auth(registry_auth_id: str) -> Any:
    """Delete registry credentials (not available: raises CloudApiUnavailable)."""
    raise CloudApiUnavailable("delete_container_registry_auth")
