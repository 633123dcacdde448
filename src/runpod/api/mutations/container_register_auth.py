"""``runpod.api.mutations.container_register_auth``: registry-auth mutations (unavailable)."""

from __future__ import annotations

from typing import Any

from pitstop.errors import CloudApiUnavailable

__all__ = [
    "delete_container_registry_auth",
    "generate_container_registry_auth",
    "update_container_registry_auth",
]

_MODULE = "api.mutations.container_register_auth"


def generate_container_registry_auth(name: str, username: str, password: str) -> Any:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable(f"{_MODULE}.generate_container_registry_auth")


def update_container_registry_auth(registry_auth_id: str, username: str, password: str) -> Any:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable(f"{_MODULE}.update_container_registry_auth")


def delete_container_registry_auth(registry_auth_id: str) -> Any:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable(f"{_MODULE}.delete_container_registry_auth")
