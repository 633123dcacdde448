"""``runpod.api.mutations.endpoints``: endpoint mutations of RunPod's cloud API (unavailable)."""

from pitstop.serverless.sdk.cloud import refusing_like
from runpod.api.ctl_commands import create_endpoint, update_endpoint_template

__all__ = ["generate_endpoint_mutation", "update_endpoint_template_mutation"]

generate_endpoint_mutation = refusing_like(
    create_endpoint, "api.mutations.endpoints.generate_endpoint_mutation", gpu_count=None
)
update_endpoint_template_mutation = refusing_like(
    update_endpoint_template, "api.mutations.endpoints.update_endpoint_template_mutation"
)
