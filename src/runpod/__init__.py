"""Compatibility facade: ``import runpod`` resolves to pitstop.

Worker files written for RunPod's SDK (``runpod.serverless.start``, ``progress_update``,
``runpod.serverless.utils.*``, ``runpod.serverless.modules.*``) and client code
(``runpod.Endpoint``, ``runpod.api_key``, ``runpod.endpoint_url_base``) run unmodified.
The names are the official SDK 1.12.0's; every one is a re-export or a small adapter,
loaded on first use so that ``import runpod`` stays cheap: its only work is reading
``~/.runpod/config.toml`` when that file exists (for ``api_key``, as the official SDK does).
No network, no logging configuration.

The cloud-management functions (``create_pod``, ``get_endpoints``, ...) exist with the
official signatures and raise :class:`pitstop.errors.CloudApiUnavailable`: pitstop does not
manage RunPod cloud resources.
"""

from __future__ import annotations

import os

from pitstop.credentials import configured_api_key
from pitstop.lazy import attach
from pitstop.serverless.version import SDK_VERSION
from runpod.api import CLOUD_COMMANDS

__version__ = SDK_VERSION
"""The official SDK version pitstop is compatible with (pitstop's own: ``pitstop.__version__``)."""

SSH_KEY_PATH = os.path.expanduser("~/.runpod/ssh")

profile = "default"
"""The credentials profile ``api_key`` was read from."""

api_key: str | None = configured_api_key(profile)
"""Client API key (RunPod's global), from ``~/.runpod/config.toml``; read by ``Endpoint``."""

endpoint_url_base: str = os.environ.get("RUNPOD_ENDPOINT_BASE_URL", "https://api.runpod.ai/v2")
"""Base URL for ``runpod.Endpoint``: point it at a pitstop server, e.g. ``http://HOST:PORT/v2``."""


__all__ = [
    *CLOUD_COMMANDS,
    "check_credentials",
    "get_credentials",
    "set_credentials",
    "AsyncioEndpoint",
    "AsyncioJob",
    "Endpoint",
    "serverless",
    "RunPodLogger",
    "__version__",
    "SSH_KEY_PATH",
    "profile",
    "api_key",
    "endpoint_url_base",
]

__getattr__, __dir__ = attach(
    __name__,
    submodules=(
        "_binary_helpers",
        "_version",
        "agent",
        "api",
        "endpoint",
        "error",
        "http_client",
        "serverless",
        "user_agent",
        "version",
    ),
    names={
        **dict.fromkeys(CLOUD_COMMANDS, "runpod.api.ctl_commands"),
        **dict.fromkeys(
            ("check_credentials", "get_credentials", "set_credentials"), "pitstop.credentials"
        ),
        **dict.fromkeys(("AsyncioEndpoint", "AsyncioJob", "Endpoint"), "runpod.endpoint"),
        "RunPodLogger": "pitstop.serverless.logger",
    },
)
