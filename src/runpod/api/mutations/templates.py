"""``runpod.api.mutations.templates``: template mutations of RunPod's cloud API (unavailable)."""

from pitstop.serverless.sdk.cloud import refusing_like
from runpod.api.ctl_commands import create_template

__all__ = ["generate_pod_template"]

generate_pod_template = refusing_like(
    create_template, "api.mutations.templates.generate_pod_template"
)
