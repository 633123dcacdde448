"""GPU presence without torch: RunPod's ``rp_cuda.is_available``, through ``nvidia-smi``.

``is_available()`` is True when ``nvidia-smi`` runs and prints its ``NVIDIA-SMI`` header;
a missing binary, a failure or a hang (10 s) counts as no GPU. The fitness checks use the
same probe.
"""

from __future__ import annotations

import subprocess

__all__ = ["is_available", "nvidia_smi"]

TIMEOUT_S = 10.0


def nvidia_smi(*args: str) -> str | None:
    """``nvidia-smi`` output, or None if it is missing, fails or hangs."""
    try:
        done = subprocess.run(
            ["nvidia-smi", *args], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def is_available() -> bool:
    """True when an NVIDIA driver answers (``nvidia-smi`` prints ``NVIDIA-SMI``)."""
    output = nvidia_smi()
    return output is not None and "NVIDIA-SMI" in output
