"""``runpod.api.mutations``: GraphQL mutation builders of RunPod's cloud API (unavailable)."""

from pitstop.lazy import attach

__getattr__, __dir__ = attach(
    __name__, submodules=("container_register_auth", "endpoints", "pods", "templates", "user")
)
