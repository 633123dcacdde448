"""``runpod.api``: RunPod's cloud-management API (pods, endpoints, templates, GPUs, users).

pitstop does not manage RunPod cloud resources: every function exists with the official
signature and raises :class:`pitstop.errors.CloudApiUnavailable` when called, before any
network traffic. Submodules load on first access.
"""

from pitstop.lazy import attach

CLOUD_COMMANDS = (
    "create_container_registry_auth",
    "create_endpoint",
    "create_pod",
    "create_template",
    "delete_container_registry_auth",
    "get_endpoints",
    "get_gpu",
    "get_gpus",
    "get_pod",
    "get_pods",
    "get_user",
    "resume_pod",
    "stop_pod",
    "terminate_pod",
    "update_container_registry_auth",
    "update_endpoint_template",
    "update_user_settings",
)
"""The cloud commands of :mod:`.ctl_commands`, also exported as ``runpod.<name>``."""

__getattr__, __dir__ = attach(
    __name__, submodules=("ctl_commands", "graphql", "mutations", "queries")
)
