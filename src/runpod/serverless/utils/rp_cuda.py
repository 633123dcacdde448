"""``runpod.serverless.utils.rp_cuda``: GPU presence via ``nvidia-smi``, from :mod:`pitstop.serverless.utils.cuda`."""

from pitstop.serverless.utils.cuda import is_available

__all__ = ["is_available"]
