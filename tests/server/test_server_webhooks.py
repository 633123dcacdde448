"""Webhooks: delivered for every terminal state, retried, given up after the configured
attempts whatever the failure, and sent only to public addresses unless allowed.

The receiver is a real HTTP server on loopback. No test sends traffic anywhere else:
internal targets are refused after resolution, before any connection (the error is the
SSRF refusal, never a connection error).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from server_support import Receiver, Worker, eventually  # type: ignore[import-not-found]

from pitstop.config import ServerConfig
from pitstop.errors import ConfigError
from pitstop.models import NewJob
from pitstop.server.app import create_app
from pitstop.server.runner import RunningServer

Start = Callable[..., Awaitable[RunningServer]]
LOOPBACK = ("127.0.0.1",)


async def _cancelled_job(c: httpx.AsyncClient, webhook: str) -> str:
    """A job that ends at once (cancelled), so its webhook is due."""
    job_id: str = (await c.post("/v2/ep/run", json={"input": 1, "webhook": webhook})).json()["id"]
    await c.post(f"/v2/ep/cancel/{job_id}")
    return job_id


async def _settled(c: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """The job's one webhook delivery once it is delivered or failed (from the record)."""

    async def done() -> dict[str, Any] | None:
        hooks = (await c.get(f"/pitstop/v1/jobs/{job_id}")).json()["webhooks"]
        return hooks[0] if hooks and hooks[0]["state"] != "pending" else None

    settled: dict[str, Any] = await eventually(done)
    return settled


async def test_webhook_for_every_terminal_state(start: Start) -> None:
    server = await start(webhook_allow=LOOPBACK)
    async with Receiver() as hook, httpx.AsyncClient(base_url=server.url) as client:
        worker = Worker(client, "ep", "w1")

        def submit(body: dict[str, object]) -> Awaitable[httpx.Response]:
            return client.post("/v2/ep/run", json={"webhook": hook.url, **body})

        done = (await submit({"input": {"k": "done"}})).json()["id"]
        failed = (await submit({"input": {"k": "failed"}})).json()["id"]
        await worker.take_job()
        await worker.done(done, {"output": {"r": 1}})
        await worker.take_job()
        await worker.done(failed, {"error": "boom"})
        cancelled = (await submit({"input": {"k": "cancelled"}})).json()["id"]
        await client.post(f"/v2/ep/cancel/{cancelled}")
        timed = (await submit({"input": {"k": "timed"}, "policy": {"ttl": 20}})).json()["id"]

        async def all_arrived() -> bool:
            return len(hook.bodies) >= 4

        await eventually(all_arrived)
        by_id = {b["id"]: b for b in hook.bodies}
        assert by_id[done]["status"] == "COMPLETED" and by_id[done]["output"] == {"r": 1}
        assert by_id[done]["input"] == {"k": "done"} and by_id[done]["webhook"] == hook.url
        assert "executionTime" in by_id[done] and by_id[done]["workerId"] == "w1"
        assert by_id[failed]["status"] == "FAILED" and by_id[failed]["error"] == "boom"
        assert by_id[cancelled]["status"] == "CANCELLED"
        assert by_id[timed]["status"] == "TIMED_OUT"
        assert (await _settled(client, done))["state"] == "delivered"


async def test_webhook_retried_until_delivered(start: Start) -> None:
    server = await start(webhook_attempts=3, webhook_backoff=0.01, webhook_allow=LOOPBACK)
    async with Receiver(failures=2) as hook, httpx.AsyncClient(base_url=server.url) as c:
        job_id = await _cancelled_job(c, hook.url)
        delivery = await _settled(c, job_id)
        assert delivery == {
            "url": hook.url,
            "state": "delivered",
            "attempts": 3,
            "lastError": None,
            "nextAt": None,
        }
        assert hook.requests == 3 and hook.bodies[0]["id"] == job_id


async def test_webhook_marked_failed_after_attempts(start: Start) -> None:
    server = await start(webhook_attempts=2, webhook_backoff=0.01, webhook_allow=LOOPBACK)
    async with Receiver(failures=10) as hook, httpx.AsyncClient(base_url=server.url) as c:
        job_id = await _cancelled_job(c, hook.url)
        delivery = await _settled(c, job_id)
        assert delivery["state"] == "failed" and delivery["attempts"] == 2
        assert delivery["lastError"] == "HTTP 500"
        assert [d for d in await server.store.due_webhooks(10**12, 100) if d.job_id == job_id] == []
        assert hook.requests == 2


def _internal_targets(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/hook",
        f"http://localhost:{port}/hook",
        f"http://[::1]:{port}/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",
        f"http://0.0.0.0:{port}/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "https://192.168.1.1/hook",
        "http://100.64.0.1/hook",
        "http://[fd00::1]/hook",
        "http://224.0.0.1/hook",
    ]


async def test_internal_targets_are_refused_before_connecting(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start(webhook_attempts=2, webhook_backoff=0.01)
    caplog.set_level(logging.WARNING, logger="pitstop.server.webhooks")
    async with Receiver() as hook, httpx.AsyncClient(base_url=server.url) as c:
        port = int(hook.url.rsplit(":", 1)[1].split("/")[0])
        jobs = {await _cancelled_job(c, url): url for url in _internal_targets(port)}
        for job_id, url in jobs.items():
            delivery = await _settled(c, job_id)
            assert delivery["state"] == "failed" and delivery["attempts"] == 2, url
            assert delivery["lastError"].startswith("SSRFError: refused: "), delivery
            assert "is not a public address" in delivery["lastError"], url
        assert hook.requests == 0
    failures = [r for r in caplog.records if "failed (attempt" in r.getMessage()]
    assert len(failures) == 2 * len(jobs)
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in failures)


async def test_allowed_internal_targets_are_delivered(start: Start) -> None:
    server = await start(webhook_allow=("127.0.0.0/8", "localhost"))
    async with Receiver() as hook, httpx.AsyncClient(base_url=server.url) as c:
        by_name = hook.url.replace("127.0.0.1", "localhost")  # also resolves to ::1 (refused
        jobs = [await _cancelled_job(c, hook.url), await _cancelled_job(c, by_name)]  # ...conn)
        for job_id in jobs:
            assert (await _settled(c, job_id))["state"] == "delivered"
        assert sorted(b["id"] for b in hook.bodies) == sorted(jobs)


async def test_every_kind_of_failure_is_one_counted_attempt(start: Start) -> None:
    server = await start(webhook_attempts=2, webhook_backoff=0.01, webhook_allow=LOOPBACK)
    async with Receiver() as closed:
        refused_url = closed.url  # nothing listens there once the receiver is closed
    async with httpx.AsyncClient(base_url=server.url) as c:
        refused = await _cancelled_job(c, refused_url)
        # A URL stored before /run checked them (an older server): it cannot even be parsed.
        stored = await server.store.enqueue(
            NewJob(id="old-job", endpoint="ep", input=1, webhook="http://[::1", created_at=1.0)
        )
        await c.post(f"/v2/ep/cancel/{stored.id}")
        for job_id, error in ((refused, "ConnectError"), (stored.id, "SSRFError")):
            delivery = await _settled(c, job_id)
            assert delivery["state"] == "failed" and delivery["attempts"] == 2
            assert delivery["lastError"].startswith(error), delivery


async def test_connection_goes_to_the_address_that_was_checked(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name resolves once and the connection goes to that checked address;
    a second answer (127.0.0.2, where nothing listens: still loopback, so even a failing run
    sends nothing off this machine) is never used, and the request names the host."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "127.0.0.2"])

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.test":
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    server = await start(webhook_allow=("127.0.0.1",))
    async with Receiver() as hook, httpx.AsyncClient(base_url=server.url) as c:
        named = hook.url.replace("127.0.0.1", "hooks.test")
        job_id = await _cancelled_job(c, named)
        assert (await _settled(c, job_id))["state"] == "delivered"
        assert hook.hosts == [named.split("/")[2]]  # Host: hooks.test:PORT


@pytest.mark.parametrize(
    "webhook", ["ftp://example.com/x", "http://", "http:///path", "example.com/hook", 5]
)
async def test_run_refuses_a_webhook_without_http_and_a_host(
    client: httpx.AsyncClient, webhook: object
) -> None:
    response = await client.post("/v2/ep/run", json={"input": 1, "webhook": webhook})
    assert response.status_code == 400
    assert "webhook" in response.json()["error"]["message"]


def test_allow_list_comes_from_flags_or_environment() -> None:
    env = {"PITSTOP_WEBHOOK_ALLOW": "127.0.0.1, 10.0.0.0/8,hooks.internal"}
    assert ServerConfig.from_env(env).webhook_allow == ("127.0.0.1", "10.0.0.0/8", "hooks.internal")
    with pytest.raises(ConfigError, match=r"10\.0\.0\.0/33"):
        create_app(ServerConfig(webhook_allow=("10.0.0.0/33",)))
