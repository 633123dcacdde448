"""``runpod.serverless.modules.rp_handler``: handler kind, from :mod:`pitstop.serverless.sdk.jobs`."""

from pitstop.serverless.sdk.jobs import is_generator

__all__ = ["is_generator"]
