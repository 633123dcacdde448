"""Warm-start cache: mirror local directories (model caches) onto a network volume.

``VolumeCache(dirs)`` keeps a copy of ``dirs`` at ``<volume_path>/.cache/<namespace>``
(the namespace defaults to ``RUNPOD_ENDPOINT_ID``), with RunPod's ``rp_volume_cache``
layout so both SDKs share a volume:

* ``small.tar``: every file under 256 KiB, packed in one archive (member names are the
  absolute path without its leading ``/``), because per-file metadata round trips are what
  make network volumes slow;
* ``big/<absolute path>``: larger files, copied one by one in a thread pool;
* ``manifest.json``: ``{"version": 1, "threshold": 262144, "small": [...], "big": [...]}``
  with ``{path, size, mtime}`` entries, written last and atomically, so a reader never
  trusts a half-written mirror. Only files the volume really holds are listed.

``hydrate()`` copies volume -> local for files missing or different locally, but never over
a local file modified after the volume's copy (RunPod's overwrites one whose size differs);
``sync()`` copies local -> volume (in a background daemon thread by default, joined at exit
for up to 30 s) and returns None, as RunPod's. Files are compared by size and mtime (2 s
tolerance for coarse network file systems). Paths may be str, bytes or path-like. Symlinks, ``*.lock``, ``*.rpvc.tmp`` and paths containing ``/refs/`` or
``/.no_exist/`` are skipped. Extraction only writes regular files inside the configured
dirs. Errors are logged at WARN and swallowed unless ``best_effort=False``: a cache
failure means a cold worker, never a broken one.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pitstop.serverless.utils import _log

__all__ = ["VolumeCache"]

THRESHOLD = 256 * 1024
FORMAT_VERSION = 1
MTIME_TOLERANCE = 2.0
JOIN_TIMEOUT = 30.0
_TMP_SUFFIX = ".rpvc.tmp"
_SKIP_PARTS = (f"{os.sep}refs{os.sep}", f"{os.sep}.no_exist{os.sep}")
T = TypeVar("T")
Meta = dict[str, Any]
PathArg = str | bytes | os.PathLike[str] | os.PathLike[bytes]


class VolumeCache:
    """Mirror ``dirs`` to and from a network volume (see the module docstring)."""

    def __init__(
        self,
        dirs: PathArg | Iterable[PathArg],
        *,
        namespace: str | None = None,
        volume_path: PathArg = "/runpod-volume",
        best_effort: bool = True,
        max_workers: int | None = None,
    ) -> None:
        items = [dirs] if isinstance(dirs, (str, bytes, os.PathLike)) else list(dirs)
        self._dirs = [os.path.realpath(os.fsdecode(d)) for d in items]
        self._namespace = namespace or os.environ.get("RUNPOD_ENDPOINT_ID") or ""
        if self._namespace and not _single_component(self._namespace):
            raise ValueError(
                f"namespace must be a single safe path component, got {self._namespace!r}"
            )
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be a positive integer, got {max_workers!r}")
        self._volume_path = os.fsdecode(volume_path)
        self._best_effort = best_effort
        self._max_workers = max_workers or min(32, (os.cpu_count() or 4) * 4)
        self._root = os.path.join(self._volume_path, ".cache", self._namespace)

    @property
    def available(self) -> bool:
        """True when a namespace is set and the volume directory exists."""
        return bool(self._namespace) and os.path.isdir(self._volume_path)

    def hydrate(self) -> int:
        """Copy volume -> local where the local copy is missing or different; return the count."""
        if not self.available:
            return 0
        return self._guarded(self._hydrate, 0)

    def sync(self, *, background: bool = True) -> None:
        """Copy local -> volume: in a daemon thread (joined at exit) or, inline, before returning."""
        if not self.available:
            return
        if not background:
            self._guarded(self._sync, 0)
            return
        thread = threading.Thread(target=self._guarded, args=(self._sync, 0), daemon=True)
        _pending[:] = [t for t in _pending if t.is_alive()]
        _pending.append(thread)
        thread.start()

    def __enter__(self) -> VolumeCache:
        self.hydrate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sync(background=True)

    # -- sync ---------------------------------------------------------------------------

    def _sync(self) -> int:
        metas = [m for m in (_stat(p) for p in self._local_files()) if m is not None]
        small = [m for m in metas if m["size"] < THRESHOLD]
        big = [m for m in metas if m["size"] >= THRESHOLD]
        manifest = self._read_manifest() or {}
        os.makedirs(self._root, exist_ok=True)
        sent = self._sync_small(small, manifest.get("small", []))
        pairs = [(m["path"], self._big_path(m["path"])) for m in big]
        copied, current = self._copy_all(pairs, keep_newer=False)
        self._write_manifest(small, [m for m in big if m["path"] in copied | current])
        sent += len(copied)
        if sent:
            _log.info(f"VolumeCache: synced {sent} file(s) to {self._root}")
        return sent

    def _sync_small(self, small: list[Meta], prior: list[Meta]) -> int:
        archive = os.path.join(self._root, "small.tar")
        if not small:
            _remove_quietly(archive)
            return 0
        before = {e.get("path"): e for e in prior if isinstance(e, dict)}
        changed = [m for m in small if _differs(m, before.get(m["path"]))]
        deleted = set(before) - {m["path"] for m in small}
        if not changed and not deleted and os.path.isfile(archive):
            return 0
        tmp = _tmp_name(archive)
        try:
            with tarfile.open(tmp, "w") as tar:
                for m in small:
                    tar.add(m["path"], arcname=os.path.relpath(m["path"], "/"), recursive=False)
            os.replace(tmp, archive)
        finally:
            _remove_quietly(tmp)
        return len(changed)

    def _local_files(self) -> Iterator[str]:
        for root in self._dirs:
            for dirpath, _dirnames, filenames in os.walk(root):
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    if not _skipped(path):
                        yield path

    # -- hydrate ------------------------------------------------------------------------

    def _hydrate(self) -> int:
        manifest = self._read_manifest()
        if manifest is None:
            return 0
        restored = self._extract_small() if manifest.get("small") else 0
        pairs = []
        for entry in manifest.get("big", []):
            dst = str(entry["path"])
            src = self._big_path(dst)
            if self._inside_dirs(dst) and _inside(os.path.join(self._root, "big"), src):
                pairs.append((src, dst))
        copied, _current = self._copy_all(pairs, keep_newer=True)
        restored += len(copied)
        if restored:
            _log.info(f"VolumeCache: hydrated {restored} file(s) from {self._root}")
        return restored

    def _extract_small(self) -> int:
        archive = os.path.join(self._root, "small.tar")
        if not os.path.isfile(archive):
            return 0
        count = 0
        with tarfile.open(archive) as tar:
            for member in tar:
                dst = os.path.join("/", member.name)
                if not member.isfile() or not self._inside_dirs(dst):
                    continue
                if not _needs_restore({"size": member.size, "mtime": member.mtime}, _stat(dst)):
                    continue
                _extract_member(tar, member, dst)
                count += 1
        if count:
            _log.info(f"VolumeCache: extracted {count} small file(s)")
        return count

    # -- shared -------------------------------------------------------------------------

    def _copy_all(
        self, pairs: list[tuple[str, str]], *, keep_newer: bool
    ) -> tuple[set[str], set[str]]:
        """Copy the pairs that need it in parallel; return ``(copied, already_current)``.

        With ``keep_newer`` a destination modified after its source is left alone. Sources
        in neither set failed to copy (or were kept out) and must stay out of a manifest.
        """
        todo = [(s, d) for s, d in pairs if _needs_copy(s, d, keep_newer)]
        current = {s for s, _d in pairs} - {s for s, _d in todo}
        if not todo:
            return set(), current
        with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
            results = list(pool.map(lambda sd: _copy_file(*sd), todo))
        return {s for (s, _d), ok in zip(todo, results, strict=False) if ok}, current

    def _big_path(self, path: str) -> str:
        return os.path.join(self._root, "big", os.path.relpath(path, "/"))

    def _inside_dirs(self, path: str) -> bool:
        return any(_inside(d, path) for d in self._dirs)

    def _read_manifest(self) -> dict[str, Any] | None:
        try:
            with open(os.path.join(self._root, "manifest.json"), encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            return None
        return data

    def _write_manifest(self, small: list[Meta], big: list[Meta]) -> None:
        path = os.path.join(self._root, "manifest.json")
        body = {"version": FORMAT_VERSION, "threshold": THRESHOLD, "small": small, "big": big}
        tmp = _tmp_name(path)
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(body, fh)
            os.replace(tmp, path)
        finally:
            _remove_quietly(tmp)

    def _guarded(self, operation: Callable[[], T], fallback: T) -> T:
        try:
            return operation()
        except Exception as err:
            return self._failed(err, fallback)

    def _failed(self, err: Exception, fallback: T) -> T:
        if not self._best_effort:
            raise err
        _log.warn(f"VolumeCache operation failed: {type(err).__name__}: {err}")
        return fallback


def _single_component(name: str) -> bool:
    return not (os.path.isabs(name) or "/" in name or "\\" in name or name in (".", ".."))


def _skipped(path: str) -> bool:
    if path.endswith((".lock", _TMP_SUFFIX)) or any(part in path for part in _SKIP_PARTS):
        return True
    return os.path.islink(path)


def _stat(path: str) -> Meta | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"path": path, "size": st.st_size, "mtime": st.st_mtime}


def _differs(new: Meta, old: Meta | None) -> bool:
    """True if ``new`` is not already reflected by ``old`` (size, or mtime past tolerance)."""
    if old is None or old.get("size") != new["size"]:
        return True
    return bool(abs(float(new["mtime"]) - float(old.get("mtime", 0))) > MTIME_TOLERANCE)


def _needs_restore(source: Meta, local: Meta | None) -> bool:
    """Hydrate's rule: copy when missing or different, never over a newer local file."""
    if local is not None and float(local["mtime"]) > float(source["mtime"]) + MTIME_TOLERANCE:
        return False
    return _differs(source, local)


def _needs_copy(src: str, dst: str, keep_newer: bool) -> bool:
    source = _stat(src)
    if source is None:
        return False
    target = _stat(dst)
    return _needs_restore(source, target) if keep_newer else _differs(source, target)


def _inside(base: str, path: str) -> bool:
    base_real, path_real = os.path.realpath(base), os.path.realpath(path)
    return path_real == base_real or path_real.startswith(base_real + os.sep)


def _tmp_name(path: str) -> str:
    return f"{path}.{os.getpid()}.{threading.get_ident()}{_TMP_SUFFIX}"


def _copy_file(src: str, dst: str) -> bool:
    """Copy with metadata through a temp file and an atomic rename; False on failure."""
    tmp = _tmp_name(dst)
    try:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, tmp)
        os.replace(tmp, dst)
        return True
    except OSError as err:
        return _copy_failed(src, dst, tmp, err)


def _copy_failed(src: str, dst: str, tmp: str, err: OSError) -> bool:
    _log.debug(f"VolumeCache: skip {src} -> {dst}: {err}")
    _remove_quietly(tmp)
    return False


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, dst: str) -> None:
    source = tar.extractfile(member)
    if source is None:
        return
    tmp = _tmp_name(dst)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        with source, open(tmp, "wb") as out:
            shutil.copyfileobj(source, out)
        os.utime(tmp, (member.mtime, member.mtime))
        os.replace(tmp, dst)
    finally:
        _remove_quietly(tmp)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


_pending: list[threading.Thread] = []


def _join_pending() -> None:
    """At exit, give background syncs up to ``JOIN_TIMEOUT`` seconds to finish."""
    for thread in list(_pending):
        thread.join(JOIN_TIMEOUT)
        if thread.is_alive():
            _log.warn("VolumeCache: background sync did not finish at exit; cache may be partial")
    _pending.clear()


atexit.register(_join_pending)
