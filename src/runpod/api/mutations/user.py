"""``runpod.api.mutations.user``: account mutations of RunPod's cloud API (unavailable)."""

from __future__ import annotations

from typing import Any

from pitstop.errors import CloudApiUnavailable

__all__ = ["generate_user_mutation"]


def generate_user_mutation(pubkey: str) -> Any:
    """Raises CloudApiUnavailable."""
    raise CloudApiUnavailable("api.mutations.user.generate_user_mutation")
