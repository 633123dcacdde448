"""``runpod.endpoint.asyncio``: the asyncio client classes."""

from runpod.endpoint.asyncio.asyncio_runner import Endpoint, Job

__all__ = ["Endpoint", "Job"]
