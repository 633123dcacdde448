"""HTTP errors become ``pitstop.errors`` classes; retries are bounded and only where safe."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from tests.client.client_support import CLIENT_KEY, ThreadServer, fast_config, unique

from pitstop.client import AsyncClient, Client, RetryPolicy
from pitstop.client._calls import Calls
from pitstop.client._core import Routes
from pitstop.client._keys import key_for
from pitstop.errors import (
    NotFound,
    PayloadTooLarge,
    QueueFull,
    ServerError,
    TransportError,
    Unauthorized,
)

FAST_RETRY = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.01)


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    """A server with a 2 KiB /run body limit and a queue bound of 2 (no workers)."""
    config = fast_config(tmp_path_factory.mktemp("tight"), max_run_body=2048, max_queue=2)
    server = ThreadServer(config).start()
    yield server
    server.stop()


def test_missing_or_wrong_key_is_unauthorized(tight: ThreadServer) -> None:
    for key in (None, "wrong"):
        with Client(tight.url, key) as client, pytest.raises(Unauthorized) as info:
            client.endpoint("ep").health()
        assert info.value.status == 401
        assert info.value.code == "unauthorized"


def test_unknown_job_is_not_found(tight: ThreadServer) -> None:
    with Client(tight.url, CLIENT_KEY) as client:
        with pytest.raises(NotFound) as info:
            client.endpoint("ep").status("no-such-job")
        assert info.value.status == 404
        with pytest.raises(NotFound):
            client.job_record("no-such-job")


def test_oversized_body_is_payload_too_large(tight: ThreadServer) -> None:
    with Client(tight.url, CLIENT_KEY) as client, pytest.raises(PayloadTooLarge) as info:
        client.endpoint("ep").run({"blob": "x" * 4096})
    assert info.value.status == 413


def test_full_queue_is_queue_full_with_retry_after_and_not_resent(tight: ThreadServer) -> None:
    with Client(tight.url, CLIENT_KEY, retry=FAST_RETRY) as client:
        ep = client.endpoint(unique("full"))
        ep.run({"n": 1})
        ep.run({"n": 2})
        with pytest.raises(QueueFull) as info:
            ep.run({"n": 3})
        assert info.value.status == 429
        assert info.value.retry_after >= 1
        assert ep.health()["jobs"]["inQueue"] == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_server_is_transport_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with Client(url, retry=FAST_RETRY) as client, pytest.raises(TransportError) as info:
        client.endpoint("ep").health()
    assert "ConnectError" in str(info.value)


async def test_async_client_maps_errors_too(tight: ThreadServer) -> None:
    async with AsyncClient(tight.url, CLIENT_KEY) as client:
        with pytest.raises(NotFound):
            await client.endpoint("ep").status("no-such-job")
    async with AsyncClient(tight.url, "wrong") as client:
        with pytest.raises(Unauthorized):
            await client.endpoint("ep").health()
    url = f"http://127.0.0.1:{_closed_port()}"
    async with AsyncClient(url, retry=FAST_RETRY) as client:
        with pytest.raises(TransportError):
            await client.endpoint("ep").health()


# -- retry policy, through the client's ``http=`` seam ------------------------------------


class Scripted:
    """An httpx transport answering from a list of responses and recording requests."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)


def _client(script: Scripted) -> Client:
    http = httpx.Client(transport=httpx.MockTransport(script))
    return Client("http://pitstop.test", "k", retry=FAST_RETRY, http=http)


def test_reads_are_retried_after_429_honouring_retry_after() -> None:
    script = Scripted(
        httpx.Response(429, headers={"Retry-After": "0"}, json={"error": {"code": "x"}}),
        httpx.Response(200, json={"id": "j", "status": "IN_QUEUE"}),
    )
    assert _client(script).endpoint("ep").status("j")["status"] == "IN_QUEUE"
    assert len(script.requests) == 2
    assert script.requests[0].headers["authorization"] == "Bearer k"


def test_submits_are_not_retried_after_429() -> None:
    script = Scripted(httpx.Response(429, headers={"Retry-After": "0"}, json={}))
    with pytest.raises(QueueFull) as info:
        _client(script).endpoint("ep").run({"a": 1})
    assert len(script.requests) == 1
    assert info.value.retry_after == 0


def test_retries_are_bounded() -> None:
    script = Scripted(*[httpx.Response(503, text="busy") for _ in range(3)])
    with pytest.raises(ServerError) as info:
        _client(script).endpoint("ep").health()
    assert len(script.requests) == FAST_RETRY.attempts
    assert info.value.status == 503
    assert "busy" in str(info.value)


def test_retry_after_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=2.0)
    call = Calls(Routes.for_server("http://x")).health("ep")
    response = httpx.Response(429, headers={"Retry-After": "3600"})
    retry = policy.after_response(response, call, attempt=0)
    assert retry is not None and retry.delay == 2.0


def test_non_json_error_bodies_stay_readable() -> None:
    script = Scripted(httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(ServerError) as info:
        _client(script).endpoint("ep").retry("j")  # not resent: not idempotent, no key
    assert info.value.status == 502
    assert "Bad gateway" in str(info.value)


PITSTOP = {"X-Pitstop-Server": "test"}


def test_keyed_submit_is_resent_with_its_key_to_a_pitstop_server() -> None:
    script = Scripted(
        httpx.Response(502, text="bad gateway", headers=PITSTOP),
        httpx.Response(200, json={"id": "j", "status": "IN_QUEUE"}, headers=PITSTOP),
    )
    assert _client(script).endpoint("ep").run({"a": 1}).id == "j"
    keys = [r.headers["idempotency-key"] for r in script.requests]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert len({key_for(None, enabled=True) for _ in range(3)}) == 3
    assert key_for(None, enabled=False) is None


def test_submit_to_a_server_without_the_header_is_probed_and_not_resent() -> None:
    script = Scripted(
        httpx.Response(502, text="<html>Bad gateway</html>"),
        httpx.Response(404, text="no such route"),
    )
    client = _client(script)
    with pytest.raises(ServerError) as info:
        client.endpoint("ep").run({"a": 1})
    assert info.value.status == 502
    assert "Bad gateway" in str(info.value)
    assert [r.method for r in script.requests] == ["POST", "GET"]  # the probe, once
    assert client.trust.known is False


def test_own_idempotency_key_is_sent() -> None:
    script = Scripted(httpx.Response(200, json={"id": "j", "status": "IN_QUEUE"}))
    _client(script).endpoint("ep").run({"a": 1}, idempotency_key="order-42")
    assert script.requests[0].headers["idempotency-key"] == "order-42"


def test_ids_are_quoted_into_one_path_segment() -> None:
    call = Calls(Routes.for_server("http://x")).status("my ep", "a/b")
    assert call.url == "http://x/v2/my%20ep/status/a%2Fb"
