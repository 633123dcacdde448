"""What both stores share for the console: event caps and texts, histogram bins, worker details.

Per-minute statistics hold, for each endpoint and minute, how many jobs ended with each
terminal status and two histograms (queue delay and execution time). A histogram bin covers
a quarter of a power of two of milliseconds (about 19 % wide), so p50/p95 read from bins
are within a bin of the truth while a minute costs a handful of counters, however many jobs
it saw. The Redis scripts compute the same bins in Lua (:data:`LUA_MS_BIN`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from typing import Any, TypeVar

from pitstop.models import JSON, GpuSample, JobPage, JobSummary, StatBucket, WorkerMeta

K = TypeVar("K")

MAX_EVENTS = 100
"""Most timeline events kept per job; later ones are dropped."""
MAX_PROGRESS_EVENTS = 50
"""Progress events are recorded only while a job has fewer events than this, so a handler
reporting progress in a loop cannot crowd out the events that follow."""
DETAIL_CHARS = 200
"""Longest ``detail`` text of an event (progress values are cut to it)."""
STATS_KEEP_S = 2 * 86400
"""How long per-minute buckets are kept (the dashboard charts the last day)."""

ROLLUP_S = 900
"""Besides per-minute buckets, stores may keep buckets this wide (Redis does) so a day's
chart reads 96 buckets."""

BINS_PER_DOUBLING = 4

LUA_MS_BIN = r"""
local function ms_bin(ms)
  if ms < 0 then ms = 0 end
  return math.floor(math.log(1 + ms) / math.log(2) * 4)
end
"""
"""The same function as :func:`ms_bin`, for the Redis scripts."""


def ms_bin(ms: float) -> int:
    """The histogram bin of a duration in milliseconds."""
    return math.floor(math.log(1 + max(0.0, ms)) / math.log(2) * BINS_PER_DOUBLING)


def bin_value(index: int) -> float:
    """A representative duration (ms) of a bin: its geometric middle."""
    low = 2 ** (index / BINS_PER_DOUBLING) - 1
    high = 2 ** ((index + 1) / BINS_PER_DOUBLING) - 1
    return math.sqrt(max(low, 0.5) * high) if index else 0.5


def percentile(histogram: dict[int, int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a histogram, as a bin's representative value."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return bin_value(index)
    return bin_value(max(histogram))


def minute_of(now: float) -> int:
    """The start of ``now``'s minute (UNIX seconds)."""
    return int(now // 60) * 60


def merge(buckets: Iterable[StatBucket]) -> StatBucket:
    """Add buckets together (the ``minute`` is the first one's)."""
    ended: dict[str, int] = {}
    delay: dict[int, int] = {}
    execution: dict[int, int] = {}
    minute = -1
    for bucket in buckets:
        if minute < 0:
            minute = bucket.minute
        _add(ended, bucket.ended)
        _add(delay, bucket.delay)
        _add(execution, bucket.execution)
    return StatBucket(max(minute, 0), ended, delay, execution)


def _add(target: dict[K, int], source: dict[K, int]) -> None:
    for k, n in source.items():
        target[k] = target.get(k, 0) + n


def bucket_from_fields(minute: int, fields: dict[str, Any]) -> StatBucket:
    """A bucket from counters named ``STATUS``, ``d<bin>`` and ``x<bin>`` (both stores)."""
    ended: dict[str, int] = {}
    delay: dict[int, int] = {}
    execution: dict[int, int] = {}
    for name, raw in fields.items():
        n = int(raw)
        if not n:
            continue
        if name[0] == "d" and name[1:].isdigit():
            delay[int(name[1:])] = n
        elif name[0] == "x" and name[1:].isdigit():
            execution[int(name[1:])] = n
        else:
            ended[name] = n
    return StatBucket(minute, ended, delay, execution)


def ended_fields(status: str, created_at: float, started_at: float | None, now: float) -> list[str]:
    """The counters a job ending now adds one to: its status, then its delay and execution
    bins when it ran."""
    fields = [status]
    if started_at is not None:
        fields.append(f"d{ms_bin((started_at - created_at) * 1000)}")
        fields.append(f"x{ms_bin((now - started_at) * 1000)}")
    return fields


def short_json(value: JSON) -> str:
    """A value as compact JSON text, cut to :data:`DETAIL_CHARS` (event details)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return short_text(text)


def short_text(text: str) -> str:
    """``text`` cut to :data:`DETAIL_CHARS` characters (with an ellipsis when cut)."""
    if len(text) <= DETAIL_CHARS:
        return text
    return text[: DETAIL_CHARS - 1] + "…"


def webhook_failure(error: str | None, next_at: float | None) -> str:
    """The event detail of a failed webhook call."""
    then = "will retry" if next_at is not None else "gave up"
    return short_text(f"{error or 'failed'} ({then})")


def encode_meta(meta: WorkerMeta | None) -> str | None:
    """A worker's process details as stored (JSON text), None for none."""
    return None if meta is None else json.dumps(dataclasses.asdict(meta))


def decode_meta(text: str | None) -> WorkerMeta | None:
    """The inverse of :func:`encode_meta` (keys this version does not know are ignored)."""
    if not text:
        return None
    raw = json.loads(text)
    known = {f.name for f in dataclasses.fields(WorkerMeta)}
    return WorkerMeta(**{k: v for k, v in raw.items() if k in known})


def encode_gpus(sample: GpuSample) -> str:
    """A worker's GPU sample as stored (JSON text)."""
    return json.dumps({"at": sample.at, "interval": sample.interval, "devices": sample.devices})


def decode_gpus(text: str | None) -> GpuSample | None:
    """The inverse of :func:`encode_gpus`; None for none."""
    if not text:
        return None
    raw = json.loads(text)
    return GpuSample(float(raw["at"]), float(raw["interval"]), tuple(raw["devices"]))


def page_of(jobs: list[JobSummary], more: bool, newest_first: bool, paged: bool) -> JobPage:
    """Cursors for a page read newest first (``more`` older ones) or oldest first (``more``
    newer ones); ``paged`` when the read started from a cursor."""
    if not jobs:
        return JobPage([], None, None)
    if newest_first:
        older = jobs[-1].seq if more else None
        newer = jobs[0].seq if paged else None
    else:
        older = jobs[-1].seq
        newer = jobs[0].seq if more else None
    return JobPage(jobs, older, newer)
