"""RunPod's credentials file, ``~/.runpod/config.toml``, as the official SDK reads and writes it.

The file holds one table per profile::

    [default]
    api_key = "..."

``import runpod`` sets ``runpod.api_key`` from the ``default`` profile, exactly as the
official SDK does: only the file counts (no environment variable), and a missing file,
invalid TOML or a missing profile leave it ``None``. One difference: a profile without an
``api_key`` entry gives ``None`` where the official SDK's import fails with ``KeyError``.
Reading is cheap when the file does not exist (no TOML parser is imported).
"""

from __future__ import annotations

import os
import sys
from typing import Any

DEFAULT_PROFILE = "default"


def credential_file() -> str:
    """The path of the credentials file for the current ``HOME``."""
    return os.path.expanduser("~/.runpod/config.toml")


def _load(path: str) -> dict[str, Any]:
    """Parse the TOML file; ValueError (or TypeError) when it is not valid TOML."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 needs the backport
        import tomli as tomllib
    with open(path, "rb") as fh:
        config: dict[str, Any] = tomllib.load(fh)
    return config


def get_credentials(profile: str = DEFAULT_PROFILE) -> dict[str, Any] | None:
    """The profile's table, or None when the file is missing, invalid or lacks the profile."""
    path = credential_file()
    if not os.path.exists(path):
        return None
    try:
        config = _load(path)
    except (TypeError, ValueError):
        return None
    table = config.get(profile)
    return table if isinstance(table, dict) else None


def configured_api_key(profile: str = DEFAULT_PROFILE) -> str | None:
    """The profile's ``api_key`` (what ``import runpod`` puts in ``runpod.api_key``)."""
    table = get_credentials(profile)
    if table is None:
        return None
    key = table.get("api_key")
    return None if key is None else str(key)


def check_credentials(profile: str = DEFAULT_PROFILE) -> tuple[bool, str | None]:
    """``(True, None)`` when the profile has an ``api_key``, else ``(False, reason)``."""
    path = credential_file()
    if not os.path.exists(path):
        return False, "~/.runpod/config.toml does not exist."
    try:
        config = _load(path)
    except (TypeError, ValueError):
        return False, "~/.runpod/config.toml is not a valid TOML file."
    if profile not in config:
        return False, f"~/.runpod/config.toml is missing {profile} profile."
    if not isinstance(config[profile], dict) or "api_key" not in config[profile]:
        return False, f"~/.runpod/config.toml is missing api_key for {profile} profile."
    return True, None


def set_credentials(api_key: str, profile: str = DEFAULT_PROFILE, overwrite: bool = False) -> None:
    """Store ``api_key`` under ``profile``; an existing profile needs ``overwrite=True``.

    The file is rewritten atomically. Other profiles keep their string, number and boolean
    entries (comments and other value types are not preserved: pitstop has no TOML writer
    dependency, unlike the official SDK's tomlkit).
    """
    path = credential_file()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    config: dict[str, Any] = {}
    if os.path.exists(path) and os.path.getsize(path):
        try:
            config = _load(path)
        except (TypeError, ValueError) as exc:
            raise ValueError("~/.runpod/config.toml is not a valid TOML file.") from exc
    if profile in config and not overwrite:
        raise ValueError("Profile already exists. Use set_credentials(overwrite=True) to update.")
    config[profile] = {"api_key": api_key}
    _write_atomically(path, _dump(config))


def _dump(config: dict[str, Any]) -> str:
    """TOML text for tables of scalar entries (the shape of the credentials file)."""
    lines: list[str] = []
    for table, entries in config.items():
        if not isinstance(entries, dict):
            continue
        lines.append(f"[{_toml_key(table)}]")
        for key, value in entries.items():
            scalar = _toml_scalar(value)
            if scalar is not None:
                lines.append(f"{_toml_key(key)} = {scalar}")
        lines.append("")
    return "\n".join(lines)


def _toml_key(key: str) -> str:
    plain = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if plain else _toml_string(key)


def _toml_string(value: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    return None


def _write_atomically(path: str, text: str) -> None:
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
