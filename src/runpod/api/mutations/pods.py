"""``runpod.api.mutations.pods``: pod mutations of RunPod's cloud API (unavailable)."""

from pitstop.serverless.sdk.cloud import REQUIRED, refusing_like
from runpod.api.ctl_commands import create_pod, resume_pod, stop_pod, terminate_pod

__all__ = [
    "generate_pod_deployment_mutation",
    "generate_pod_resume_mutation",
    "generate_pod_stop_mutation",
    "generate_pod_terminate_mutation",
]

_MODULE = "api.mutations.pods"

generate_pod_deployment_mutation = refusing_like(
    create_pod,
    f"{_MODULE}.generate_pod_deployment_mutation",
    image_name=REQUIRED,
    gpu_count=None,
    volume_in_gb=None,
    min_vcpu_count=None,
    min_memory_in_gb=None,
    docker_args=None,
    volume_mount_path=None,
)
generate_pod_stop_mutation = refusing_like(stop_pod, f"{_MODULE}.generate_pod_stop_mutation")
generate_pod_resume_mutation = refusing_like(resume_pod, f"{_MODULE}.generate_pod_resume_mutation")
generate_pod_terminate_mutation = refusing_like(
    terminate_pod, f"{_MODULE}.generate_pod_terminate_mutation"
)
