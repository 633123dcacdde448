"""The URLs workers use: the environment that points a worker at a pitstop server, and the
tolerance for a worker configured without it.

These are RunPod's variables; the URLs carry ``?gpu=none`` because RunPod's worker SDK
appends its parameters with ``&``. A worker configured by hand with a URL that has no ``?``
(``.../job-take/$ID``) therefore asks for ``/job-take/w1&job_in_progress=0``: its worker id
(or job id) would swallow the parameters and its results would answer 404.
:func:`repair_query_in_path` reads such a path as if the query had started at the first
``&``, and says so once per worker in the server log.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

log = logging.getLogger("pitstop.server")

_warned: set[str] = set()
_WARN_LIMIT = 1000  # distinct paths warned about; bounded so hostile paths cannot grow it


def worker_env(base_url: str, endpoint: str, worker_id: str, key: str) -> dict[str, str]:
    """``RUNPOD_WEBHOOK_*``, ``RUNPOD_AI_API_KEY`` and ``RUNPOD_POD_ID`` for one worker."""
    base = f"{base_url.rstrip('/')}/v2/{endpoint}"
    return {
        "RUNPOD_WEBHOOK_GET_JOB": f"{base}/job-take/$ID?gpu=none",
        "RUNPOD_WEBHOOK_POST_OUTPUT": f"{base}/job-done/$RUNPOD_POD_ID/$ID?gpu=none",
        "RUNPOD_WEBHOOK_POST_STREAM": f"{base}/job-stream/$RUNPOD_POD_ID/$ID?gpu=none",
        "RUNPOD_WEBHOOK_PING": f"{base}/ping/$RUNPOD_POD_ID?gpu=none",
        "RUNPOD_AI_API_KEY": key,
        "RUNPOD_POD_ID": worker_id,
    }


def repair_query_in_path(scope: MutableMapping[str, Any]) -> None:
    """Move ``&k=v`` pairs from a ``/v2/...`` path into the query string, in place.

    ``/v2/ep/job-take/w1&job_in_progress=0`` becomes path ``/v2/ep/job-take/w1`` with query
    ``job_in_progress=0`` (before any query the request already had).
    """
    path: str = scope["path"]
    cut = path.find("&")
    if cut < 0 or not path.startswith("/v2/"):
        return
    moved = path[cut + 1 :].encode("latin-1", "replace")
    scope["path"] = path[:cut]
    raw: bytes = scope.get("raw_path") or b""
    raw_cut = raw.find(b"&")
    if raw_cut >= 0:
        scope["raw_path"] = raw[:raw_cut]
    query: bytes = scope.get("query_string") or b""
    scope["query_string"] = moved + b"&" + query if query else moved
    _warn_once(path[:cut])


def _warn_once(path: str) -> None:
    # The worker id is the segment after the operation: /v2/{endpoint}/{op}/{worker}[/{job}].
    parts = [*path.split("/"), "", ""]
    who = f"{parts[2]}/{parts[4]}"
    if who in _warned or len(_warned) >= _WARN_LIMIT:
        return
    _warned.add(who)
    log.warning(
        "a worker URL has no '?' (%r): its '&' parameters were read as the query; "
        "set RUNPOD_WEBHOOK_* as `pitstop worker-env` prints them",
        path,
    )
