"""Workers' results: one ``job-done`` body, or many at once through ``job-done-batch``.

A result body is RunPod's (worker-protocol §2.3: ``output`` / ``error`` / ``stopPod``, or a
progress update ``{"status": "IN_PROGRESS", "output": p}``). A result the server could not
render again (:mod:`pitstop.server.limits`) is refused with 400 and ends the job FAILED with
the reason; a progress update is only refused.

``job-done-batch`` (pitstop's extension, sent only to servers that answer with
``X-Pitstop-Server``): ``{"results": [{"id", "attempt", "result"}]}`` carries the final
results a worker has ready at the same moment, so a worker running many small jobs at once
pays one request for several of them instead of one each. Every item is handled exactly as
its own ``job-done`` would be (same fence, same refusals) and they are stored together (one
SQLite transaction, one Redis pipeline); the answer lists each item's status as that
request would have had it, so a worker treats each one the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from typing import Any, NoReturn, TypeGuard

from starlette.requests import Request
from starlette.responses import Response

from pitstop.errors import ApiError, BadRequest, NotFound, StaleAttempt
from pitstop.models import JSON, Finish, Outcome, Result
from pitstop.server.bodies import json_response, read_json
from pitstop.server.limits import check_value, unrenderable
from pitstop.server.state import ServerState, state_of

log = logging.getLogger("pitstop.server")

MAX_RESULTS = 256
"""Most results one ``job-done-batch`` carries."""
MAX_ATTEMPT = 2**31 - 1
MAX_JOB_ID = 256


def error_text(value: JSON) -> str | None:
    """RunPod's ``error`` is always a string: falsy drops it, non-strings are JSON-encoded."""
    if not value:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def parse_result(body: Any) -> Result:
    """A final ``job-done`` body (worker-protocol §2.3): ``output``/``error``/``stopPod``."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequest("job-done body must be a JSON object")
    return Result(
        output=body.get("output"),
        has_output="output" in body,
        error=error_text(body.get("error")),
        stop_pod=bool(body.get("stopPod")),
    )


def problem_of(body: dict[str, Any], fields: tuple[str, ...]) -> str | None:
    """What makes a field of a worker's body unrenderable (``"output nests deeper ..."``)."""
    for field in fields:
        if field in body:
            why = unrenderable(body[field])
            if why is not None:
                return f"{field} {why}"
    return None


def check_outcome(outcome: Outcome, job_id: str, worker_id: str) -> None:
    """Raise for a fenced write that matched nothing (409 stale, 404 unknown)."""
    if outcome is Outcome.STALE:
        raise StaleAttempt(f"worker {worker_id} no longer holds this attempt of job {job_id}")
    if outcome is Outcome.UNKNOWN:
        raise NotFound(f"job {job_id!r} not found")


def _settled(state: ServerState, final: Finish, outcome: Outcome, now: float) -> Outcome:
    """What storing ``final`` did, counted in the metrics when it ended the job; raises
    what the single route answers for a fenced write that matched nothing."""
    if outcome is Outcome.ACCEPTED:
        state.metrics.done(final.job_id, final.result.status, now)
    check_outcome(outcome, final.job_id, final.worker_id)
    return outcome


async def _store_final(state: ServerState, final: Finish) -> Outcome:
    """Store one final result (fenced) and settle it (:func:`_settled`)."""
    now = state.now()
    outcome = await state.store.finish(
        final.job_id, final.worker_id, final.attempt, final.result, now, final.retention_s
    )
    return _settled(state, final, outcome, now)


def _final(
    state: ServerState, worker_id: str, job_id: str, attempt: int | None, result: Result
) -> Finish:
    return Finish(job_id, worker_id, attempt, result, state.retention(job_id))


async def refuse_result(
    state: ServerState, worker_id: str, job_id: str, attempt: int | None, problem: str
) -> NoReturn:
    """Refuse a result the server could not render again: the job ends FAILED with the
    reason (fenced: only its holder's result can end it), the worker gets 400."""
    reason = f"Job result refused by the server: {problem}"
    await _store_final(state, _final(state, worker_id, job_id, attempt, Result(error=reason)))
    raise BadRequest(reason)


async def accept(
    state: ServerState, worker_id: str, job_id: str, attempt: int | None, body: Any
) -> Outcome:
    """Store one ``job-done`` body of the worker holding ``attempt`` of the job: a progress
    update or the final result. Raises what the single route answers (400, 404, 409, 503)."""
    store = state.store
    if isinstance(body, dict) and body.get("status") == "IN_PROGRESS":
        check_value(body.get("output"), "output")
        outcome = await store.set_progress(job_id, worker_id, attempt, body.get("output"))
        check_outcome(outcome, job_id, worker_id)
        return outcome
    if isinstance(body, dict):
        problem = problem_of(body, ("output", "error"))
        if problem is not None:
            await refuse_result(state, worker_id, job_id, attempt, problem)
    return await _store_final(state, _final(state, worker_id, job_id, attempt, parse_result(body)))


_BATCH_SHAPE = 'job-done-batch body must be {"results": [{"id", "attempt", "result"}, ...]}'


def parse_batch(body: Any) -> list[tuple[str, int | None, Any]]:
    """``(job id, attempt, result body)`` per item of a ``job-done-batch`` body (400 naming
    the field when anything is malformed; nothing of a malformed batch is stored)."""
    items = body.get("results") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise BadRequest(_BATCH_SHAPE)
    if len(items) > MAX_RESULTS:
        raise BadRequest(f"results holds {len(items)} items; at most {MAX_RESULTS}")
    parsed: list[tuple[str, int | None, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "result" not in item:
            raise BadRequest(f"results[{i}] must be an object with 'id' and 'result'")
        job_id, attempt = item.get("id"), item.get("attempt")
        if not _job_id(job_id):
            raise BadRequest(
                f"results[{i}].id must be a job id (1-{MAX_JOB_ID} visible ASCII characters)"
            )
        if isinstance(attempt, float) and attempt.is_integer():
            attempt = int(attempt)  # JSON has no integer type: 3.0 is 3
        if attempt is not None and (
            not isinstance(attempt, int)
            or isinstance(attempt, bool)
            or not 0 <= attempt <= MAX_ATTEMPT
        ):
            raise BadRequest(f"results[{i}].attempt must be null or an integer 0-{MAX_ATTEMPT}")
        result = item["result"]
        if result is not None and not isinstance(result, dict):
            raise BadRequest(f"results[{i}].result must be a JSON object or null")
        parsed.append((job_id, attempt, result))
    return parsed


def _job_id(value: Any) -> TypeGuard[str]:
    """1-256 visible ASCII characters (printable ASCII but the space)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_JOB_ID
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def _refused(job_id: str, exc: ApiError) -> dict[str, Any]:
    """The item's answer for what its own ``job-done`` would have answered with ``exc``."""
    answer: dict[str, Any] = {"id": job_id, "status": exc.status, **exc.to_body()}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        answer["retryAfter"] = retry_after
    return answer


def _answer(job_id: str, outcome: Outcome) -> dict[str, Any]:
    return {"id": job_id, "status": 200, "outcome": outcome.value}


async def _answered(job_id: str, stored: Awaitable[Outcome]) -> dict[str, Any]:
    """The item's answer once ``stored`` (what its own ``job-done`` would do) is done."""
    try:
        return _answer(job_id, await stored)
    except ApiError as exc:
        return _refused(job_id, exc)


def _plain_final(
    state: ServerState, worker_id: str, job_id: str, attempt: int | None, body: Any
) -> Finish | None:
    """The item as a :class:`Finish` when it is a final result stored as it is; None for
    what :func:`accept` handles on its own (a progress update, a result to refuse)."""
    if isinstance(body, dict) and (
        body.get("status") == "IN_PROGRESS" or problem_of(body, ("output", "error")) is not None
    ):
        return None
    return _final(state, worker_id, job_id, attempt, parse_result(body))


async def _finish_all(state: ServerState, finals: list[Finish]) -> list[dict[str, Any]]:
    """Store plain final results with one store call, each answered as its ``job-done``.

    A store outage answers every item with its 503. Any other failure is retried one item
    at a time, so one result the store cannot take costs the others nothing (an item the
    failed call had stored already is then the holder's ``duplicate``)."""
    now = state.now()
    try:
        outcomes = await state.store.finish_many(finals, now)
    except ApiError as exc:
        return [_refused(f.job_id, exc) for f in finals]
    except Exception:
        log.warning("storing %d results at once failed; storing them one by one", len(finals))
        one_by_one = (_answered(f.job_id, _store_final(state, f)) for f in finals)
        return list(await asyncio.gather(*one_by_one))
    answers = []
    for final, outcome in zip(finals, outcomes, strict=True):
        try:
            answers.append(_answer(final.job_id, _settled(state, final, outcome, now)))
        except ApiError as exc:
            answers.append(_refused(final.job_id, exc))
    return answers


async def job_done_batch(request: Request, endpoint_id: str, worker_id: str) -> Response:
    """pitstop: several final results at once; 200 with each item's own status.

    Plain final results are stored with one :meth:`~pitstop.storage.base.Store.finish_many`
    call; anything else in the batch goes through :func:`accept` as its own request would.
    """
    state = state_of(request)
    state.auth.worker(request)
    body = await read_json(request, state.config.max_worker_body, "job-done-batch body")
    items = parse_batch(body)
    answers: list[dict[str, Any]] = [{} for _ in items]
    finals: list[Finish] = []
    at: list[int] = []
    others: list[int] = []
    for n, (job_id, attempt, item) in enumerate(items):
        final = _plain_final(state, worker_id, job_id, attempt, item)
        if final is None:
            others.append(n)
        else:
            finals.append(final)
            at.append(n)
    if finals:
        for n, answer in zip(at, await _finish_all(state, finals), strict=True):
            answers[n] = answer
    if others:
        alone = (_answered(items[n][0], accept(state, worker_id, *items[n])) for n in others)
        done = await asyncio.gather(*alone)
        for n, answer in zip(others, done, strict=True):
            answers[n] = answer
    return json_response({"results": answers})
