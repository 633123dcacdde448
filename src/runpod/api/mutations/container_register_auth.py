"""``runpod.api.mutations.container_register_auth``: registry-auth mutations (unavailable)."""

from pitstop.serverless.sdk.cloud import refusing_like
from runpod.api import ctl_commands

__all__ = [
    "delete_container_registry_auth",
    "generate_container_registry_auth",
    "update_container_registry_auth",
]

_MODULE = "api.mutations.container_register_auth"

generate_container_registry_auth = refusing_like(
    ctl_commands.create_container_registry_auth, f"{_MODULE}.generate_container_registry_auth"
)
update_container_registry_auth = refusing_like(
    ctl_commands.update_container_registry_auth, f"{_MODULE}.update_container_registry_auth"
)
delete_container_registry_auth = refusing_like(
    ctl_commands.delete_container_registry_auth, f"{_MODULE}.delete_container_registry_auth"
)
