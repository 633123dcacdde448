"""Handing jobs to a worker: claim (long-polling the queue), then render each job on its own.

A claim is committed before the answer is built, so one job that cannot be rendered must not
cost the others their delivery: each job's payload is rendered alone, a job that fails is
ended FAILED at once with the reason (it could never be handed out), and the rest are
delivered. ``/run`` refuses such inputs (:mod:`pitstop.server.limits`); this guards against
records written by anything else (an older server, a hand-made entry).
"""

from __future__ import annotations

import logging
import time

from starlette.requests import Request

from pitstop.models import Job, Result
from pitstop.server.bodies import dumps, query_value
from pitstop.server.limits import describe
from pitstop.server.state import ServerState
from pitstop.storage.base import queue_key

log = logging.getLogger("pitstop.server")


async def take_payloads(
    state: ServerState, request: Request, endpoint: str, worker_id: str, n: int
) -> list[bytes]:
    """Up to ``n`` rendered job payloads for ``worker_id`` (none after ``take_wait``)."""
    idle = query_value(request, "job_in_progress") != "1"
    while True:
        jobs = await _claim(state, request, endpoint, worker_id, n, idle)
        if not jobs:
            return []
        if await request.is_disconnected():
            # Nobody will receive these jobs: give them back now rather than after the lease.
            await release(state, worker_id, [j.id for j in jobs])
            return []
        payloads = await _render(state, endpoint, worker_id, jobs)
        if payloads:
            return payloads


async def release(state: ServerState, worker_id: str, job_ids: list[str] | None) -> list[str]:
    """Give up ``worker_id``'s leases (all, or ``job_ids``) and requeue those jobs at once.

    The requeue is the sweeper's lease-expiry pass run now: attempts are counted and a job
    whose attempts are used up fails, exactly as for a lease that ran out.
    """
    released = await state.store.release(worker_id, job_ids)
    if released:
        await state.store.expire_leases(state.now(), state.config.max_attempts)
        log.info("released %d job(s) of worker %s: %s", len(released), worker_id, released)
    return released


async def _claim(
    state: ServerState, request: Request, endpoint: str, worker_id: str, n: int, idle: bool
) -> list[Job]:
    """Claim up to ``n`` jobs, long-polling the queue key for ``take_wait`` when empty.

    The watch is entered before the first claim, so an empty queue costs one claim, not two
    (a claim before the watch would have to be repeated inside it, or miss a wakeup); the
    Redis store keeps the subscription between a worker's takes, so entering is cheap. An
    ``idle`` worker is recorded idle once a claim found nothing: a take that gets jobs at
    once is only recorded busy (one registry write instead of two).
    """
    store, cfg = state.store, state.config
    if cfg.take_wait <= 0:
        jobs = await store.claim(endpoint, worker_id, n, cfg.lease_s, state.now())
        if not jobs and idle:
            state.note_worker_soon(endpoint, worker_id, [])
        return jobs
    deadline = time.monotonic() + cfg.take_wait
    async with store.watch(queue_key(endpoint)) as watch:
        jobs = await store.claim(endpoint, worker_id, n, cfg.lease_s, state.now())
        if not jobs and idle:
            # Known idle from now on, not only once this long-poll answers.
            state.note_worker_soon(endpoint, worker_id, [])
        while not jobs:
            if await state.wait_until(watch, deadline) is not True:
                return []
            if await request.is_disconnected():
                return []
            jobs = await store.claim(endpoint, worker_id, n, cfg.lease_s, state.now())
        return jobs


async def _render(
    state: ServerState, endpoint: str, worker_id: str, jobs: list[Job]
) -> list[bytes]:
    """Each job's payload rendered alone; a job that cannot be is failed, not delivered."""
    now = state.now()
    payloads: list[bytes] = []
    taken: list[str] = []
    for job in jobs:
        try:
            payloads.append(dumps(job.worker_payload()))
        except Exception as exc:
            await _fail_unrenderable(state, worker_id, job, describe(exc))
            continue
        state.metrics.taken(endpoint, job.id, job.created_at, now)
        taken.append(job.id)
    if taken:
        # A busy worker's empty take says nothing about what it runs: its pings do.
        state.note_worker_soon(endpoint, worker_id, taken)
    return payloads


async def _fail_unrenderable(state: ServerState, worker_id: str, job: Job, why: str) -> None:
    """End a claimed job that cannot be handed out FAILED, as its claimer (fenced)."""
    reason = f"the server cannot hand this job to a worker: its payload {why}"
    log.warning("job %s: %s", job.id, reason)
    try:
        await state.store.finish(
            job.id,
            worker_id,
            job.attempt,
            Result(error=reason),
            state.now(),
            state.retention(job.id),
        )
    except Exception:
        log.exception("job %s could not be failed; its lease will expire", job.id)
