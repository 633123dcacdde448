"""Helpers of the hostile-input tests: deep values, and good jobs that must not be hurt.

Every hostile case runs next to good jobs of the same endpoint; :class:`Bystanders` submits
them and asserts they are handed out together, at once, on their first attempt, and finish.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

LIMIT = 128
"""The documented nesting limit (pitstop.server.limits.MAX_DEPTH), spelled out on purpose."""


def nested(levels: int, leaf: Any = 1) -> Any:
    """``leaf`` inside ``levels`` arrays/objects, alternating (``[{"k": [...]}]``)."""
    value = leaf
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def deep_text(levels: int) -> str:
    """JSON text nested ``levels`` arrays deep (built as text: no Python recursion)."""
    return "[" * levels + "1" + "]" * levels


def assert_bad_request(response: httpx.Response, *words: str) -> None:
    """A 400 ``bad_request`` whose message contains every word."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_request", error
    for word in words:
        assert word in error["message"], (word, error["message"])


class Bystanders:
    """Good jobs submitted around a hostile request on one endpoint."""

    def __init__(self, client: httpx.AsyncClient, endpoint: str) -> None:
        self.client = client
        self.ep = endpoint
        self.ids: list[str] = []

    async def submit(self, n: int = 2) -> None:
        for _ in range(n):
            answer = await self.client.post(f"/v2/{self.ep}/run", json={"input": {"good": True}})
            assert answer.status_code == 200, answer.text
            self.ids.append(answer.json()["id"])

    async def take_batch(self, worker: str = "good-worker") -> list[dict[str, Any]]:
        answer = await self.client.get(f"/v2/{self.ep}/job-take-batch/{worker}?batch_size=50")
        assert answer.status_code == 200, answer.text
        jobs: list[dict[str, Any]] = answer.json()
        return jobs

    async def assert_served(self, worker: str = "good-worker") -> None:
        """One take hands out every good job on its first attempt; each completes."""
        jobs = await self.take_batch(worker)
        assert sorted(j["id"] for j in jobs) == sorted(self.ids)
        assert all(j["attempt"] == 1 for j in jobs), jobs
        await self.finish(jobs, worker)

    async def one_running(self, worker: str = "good-worker") -> list[dict[str, Any]]:
        """Submit one good job and take it: the job list of that take."""
        await self.submit(1)
        return await self.take_batch(worker)

    async def status(self, job_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/v2/{self.ep}/status/{job_id}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def finish(self, jobs: list[dict[str, Any]], worker: str = "good-worker") -> None:
        for job in jobs:
            done = await self.client.post(
                f"/v2/{self.ep}/job-done/{worker}/{job['id']}",
                content=json.dumps({"output": "ok"}),
                headers={"X-Pitstop-Attempt": str(job["attempt"])},
            )
            assert done.status_code == 200, done.text
            status = await self.status(job["id"])
            assert status["status"] == "COMPLETED" and status["retries"] == 0, status
