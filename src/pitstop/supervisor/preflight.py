"""What ``pitstop serve`` and ``pitstop worker`` check before starting anything.

A handler file that cannot be read or a data folder that cannot be written would otherwise
surface as a crash loop or a traceback from deep inside the store; here each becomes one
:class:`~pitstop.errors.ConfigError` line (exit code 2). Also here: the endpoint id a handler
file gets when ``--endpoint`` is not given.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path

from pitstop.config import SupervisorConfig
from pitstop.errors import ConfigError

GENERIC_STEMS = frozenset({"handler", "main", "rp_handler", "app", "worker"})
"""File names that say nothing about the endpoint: it is named after the folder instead."""
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9._-]+")


def endpoint_id_of(text: str) -> str:
    """``text`` as an endpoint id: letters, digits, ``.``, ``_`` and ``-`` only."""
    return _NOT_IN_ID.sub("-", text).strip("-.")


def named_after_folder(handler_path: str) -> bool:
    """True when the file name is generic (``handler.py``) and the folder gives the name."""
    path = Path(handler_path)
    return path.stem in GENERIC_STEMS and bool(endpoint_id_of(path.resolve().parent.name))


def default_endpoint_id(handler_path: str) -> str:
    """The file's name (``sdxl.py`` -> ``sdxl``), or its folder's for a generic file name
    (``sdxl-worker/handler.py`` -> ``sdxl-worker``)."""
    path = Path(handler_path)
    if named_after_folder(handler_path):
        return endpoint_id_of(path.resolve().parent.name)
    return endpoint_id_of(path.stem) or "endpoint"


def check_handler(sup: SupervisorConfig) -> SupervisorConfig:
    """The config with its endpoint id filled in; ConfigError unless the handler is readable."""
    if not sup.handler_path:
        raise ConfigError("no handler file given")
    path = Path(sup.handler_path)
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        raise ConfigError(f"handler file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"handler file {path} is a directory") from None
    except OSError as exc:
        raise ConfigError(f"cannot read handler file {path}: {exc.strerror or exc}") from None
    return replace(sup, endpoint_id=sup.endpoint_id or default_endpoint_id(sup.handler_path))


def check_data_dir(data_dir: str) -> None:
    """Create ``data_dir`` if needed; ConfigError unless a file can be created in it."""
    folder = Path(data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(f"data dir {data_dir} is not writable: {exc.strerror or exc}") from None
