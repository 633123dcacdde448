"""Final results that are ready together go to a pitstop server in one ``job-done-batch``.

A worker running many small jobs at once (an embedding or classifier endpoint with a high
``concurrency_modifier``) finishes them in bursts; posting each result alone costs the
server one HTTP exchange per job. :class:`DoneBatcher` sends one final result at a time
and, while that POST is in flight, collects the ones that become ready; those then go
together as ``{"results": [{"id", "attempt", "result"}, ...]}`` to
``/v2/{endpoint}/job-done-batch/{worker}``. A result that is alone goes out as RunPod's own
``job-done`` at once, so nothing waits for company and a lone job pays nothing extra.

Only against a server that answered with ``X-Pitstop-Server``, and only for results up to
:data:`MAX_ITEM_BYTES` (a big result goes alone, as before). The server answers each item
with the status its own ``job-done`` would have had, and each job's caller gets exactly
that, so refusals (400), stale attempts (409) and the rest are handled as they always are.
Items answered 5xx, and every item of a batch that failed as a whole (unreachable after the
retries, or a server without the route), are posted again one by one through the usual
path with its retries; a server that does not know the route is not sent batches again.
Repeating a result is safe: the server answers a repeated ``job-done`` as a duplicate.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pitstop.serverless.transport import Transport

MAX_ITEMS = 64
"""Most results in one batch (the server takes up to 256)."""
MAX_ITEM_BYTES = 64 * 1024
"""Results larger than this are posted alone."""
MAX_BATCH_BYTES = 1024 * 1024
"""A batch is closed once its bodies add up to this many bytes."""

Answer = tuple[int, bytes]


@dataclass
class _Final:
    job_id: str
    attempt: int | None
    url: str
    body: bytes
    headers: dict[str, str]
    answer: asyncio.Future[Answer] = field(repr=False)


def batch_url(done_url: str, worker_id: str) -> str | None:
    """The ``job-done-batch`` URL for a ``.../job-done/{worker}/$ID?...`` template, or None
    when the template has another shape (then nothing is batched)."""
    marker = f"/job-done/{worker_id}/$ID"
    if marker not in done_url:
        return None
    return done_url.replace(marker, f"/job-done-batch/{worker_id}")


class DoneBatcher:
    """Posts final results, coalescing those ready together (see the module docstring)."""

    def __init__(self, transport: Transport, url: str | None) -> None:
        self.transport = transport
        self.url = url
        self._queue: list[_Final] = []
        self._sender: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def post(
        self, job: dict[str, Any], url: str, body: bytes, headers: dict[str, str]
    ) -> Answer:
        """Deliver ``job``'s final result; the status and body its job-done answered."""
        if self.url is None or not self.transport.pitstop or len(body) > MAX_ITEM_BYTES:
            return await self.transport.post_answer(url, body, headers)
        attempt = job.get("attempt")
        if not isinstance(attempt, int) or isinstance(attempt, bool):
            attempt = None
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.append(_Final(str(job.get("id")), attempt, url, body, headers, answer))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_all())
        return await asyncio.shield(answer)

    async def _send_all(self) -> None:
        while self._queue:
            group = self._next_group()
            if len(group) == 1:
                await self._alone(group[0])
                continue
            try:
                await self._together(group)
            except Exception as exc:  # each job's caller gets what its own POST would raise
                for item in group:
                    _settle(item, exc)

    def _next_group(self) -> list[_Final]:
        group: list[_Final] = []
        size = 0
        while self._queue and len(group) < MAX_ITEMS and size < MAX_BATCH_BYTES:
            item = self._queue.pop(0)
            group.append(item)
            size += len(item.body)
        return group

    async def _alone(self, item: _Final) -> None:
        try:
            answer = await self.transport.post_answer(item.url, item.body, item.headers)
        except Exception as exc:  # the job's own caller reports it
            _settle(item, exc)
            return
        _settle(item, answer)

    async def _together(self, group: list[_Final]) -> None:
        assert self.url is not None
        status, content = await self.transport.post_answer(
            self.url, _batch_body(group), {"Content-Type": "application/json"}
        )
        answers = _item_answers(content) if status == 200 else None
        if answers is None:
            if status in (404, 405):  # a server without the route: post alone from now on
                self.url = None
            self._again_alone(group)
            return
        retry: list[_Final] = []
        for item in group:
            answer = answers.get(item.job_id)
            if answer is None or answer[0] >= 500:
                retry.append(item)
            else:
                _settle(item, answer)
        self._again_alone(retry)

    def _again_alone(self, items: list[_Final]) -> None:
        """Post each item through the single route, concurrently, without holding up the
        batches behind them."""
        for item in items:
            task = asyncio.create_task(self._alone(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


def _settle(item: _Final, outcome: Answer | BaseException) -> None:
    if item.answer.done():
        return
    if isinstance(outcome, BaseException):
        item.answer.set_exception(outcome)
    else:
        item.answer.set_result(outcome)


def _batch_body(group: list[_Final]) -> bytes:
    """The results as one body, each job-done body embedded as it was encoded."""
    parts = [
        b'{"id":%s,"attempt":%s,"result":%s}'
        % (json.dumps(item.job_id).encode(), json.dumps(item.attempt).encode(), item.body)
        for item in group
    ]
    return b'{"results":[' + b",".join(parts) + b"]}"


def _item_answers(content: bytes) -> dict[str, Answer] | None:
    """Each item's (status, job-done answer body) by job id; None for a malformed answer."""
    try:
        items = json.loads(content)["results"]
        answers: dict[str, Answer] = {}
        for item in items:
            status = int(item["status"])
            if status == 200:
                body = {"id": item["id"], "outcome": item.get("outcome")}
            else:
                body = {"error": item.get("error")}
            answers[str(item["id"])] = (status, json.dumps(body).encode())
        return answers
    except (ValueError, TypeError, KeyError):
        return None
