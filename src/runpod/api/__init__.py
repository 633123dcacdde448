"""``runpod.api``: RunPod's cloud-management API (pods, endpoints, templates, GPUs, users).

pitstop does not manage RunPod cloud resources: every function exists with the official
signature and raises :class:`pitstop.errors.CloudApiUnavailable` when called, before any
network traffic. Submodules load on first access.
"""

from pitstop.lazy import attach

__getattr__, __dir__ = attach(
    __name__, submodules=("ctl_commands", "graphql", "mutations", "queries")
)
