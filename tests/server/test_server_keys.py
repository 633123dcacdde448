"""Scoped keys: an endpoint key opens one endpoint's client routes and sees only its jobs;
global client keys open everything; keys can come from files (out of ``ps``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess

from pitstop.config import ServerConfig
from pitstop.errors import ConfigError
from pitstop.server.app import create_app
from pitstop.server.runner import RunningServer, check_bind

Start = Callable[..., Awaitable[RunningServer]]
ROOT, KEY_A, KEY_B, WORKER = "root-key", "key-a", "key-b", "worker-key"


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def scoped(start: Start) -> RunningServer:
    return await start(
        client_keys=(ROOT,), endpoint_keys=(f"a={KEY_A}", f"b={KEY_B}"), worker_keys=(WORKER,)
    )


async def test_an_endpoint_key_opens_only_its_endpoints_routes(scoped: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=scoped.url) as c:
        job_a = (await c.post("/v2/a/run", json={"input": 1}, headers=_as(KEY_A))).json()["id"]
        job_b = (await c.post("/v2/b/run", json={"input": 2}, headers=_as(ROOT))).json()["id"]
        for method, path in (
            ("POST", "/v2/b/run"),
            ("GET", f"/v2/b/status/{job_b}"),
            ("POST", f"/v2/b/cancel/{job_b}"),
            ("GET", "/v2/b/health"),
            ("POST", "/v2/b/purge-queue"),
        ):
            answer = await c.request(method, path, json={"input": 3}, headers=_as(KEY_A))
            assert answer.status_code == 401, (method, path)
            assert "not valid for endpoint 'b'" in answer.json()["error"]["message"]
        assert (await c.get(f"/v2/a/status/{job_a}", headers=_as(KEY_A))).status_code == 200
        assert (await c.get(f"/v2/b/status/{job_b}", headers=_as(KEY_B))).status_code == 200
        assert (await c.get(f"/v2/b/status/{job_b}", headers=_as(ROOT))).status_code == 200
        assert (await c.get(f"/v2/b/status/{job_b}")).status_code == 401  # no key at all
        # Endpoint keys are client keys: they never open the worker routes.
        take = "/v2/a/job-take/w1?job_in_progress=0"
        assert (await c.get(take, headers={"Authorization": KEY_A})).status_code == 401
        assert (await c.get(take, headers={"Authorization": WORKER})).status_code == 200


async def test_listings_show_only_what_the_key_may_see(scoped: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=scoped.url) as c:
        job_a = (await c.post("/v2/a/run", json={"input": 1}, headers=_as(KEY_A))).json()["id"]
        job_b = (await c.post("/v2/b/run", json={"input": 2}, headers=_as(KEY_B))).json()["id"]

        async def listed(key: str, query: str = "") -> list[str]:
            answer = await c.get(f"/pitstop/v1/jobs{query}", headers=_as(key))
            return [j["id"] for j in answer.json()["jobs"]]

        assert await listed(KEY_A) == [job_a]
        assert await listed(KEY_A, "?endpoint=b") == []
        assert sorted(await listed(ROOT)) == sorted([job_a, job_b])
        endpoints = await c.get("/pitstop/v1/endpoints", headers=_as(KEY_B))
        assert endpoints.json() == {"endpoints": ["b"]}
        for path in (f"/pitstop/v1/jobs/{job_b}", f"/pitstop/v1/jobs/{job_b}/logs"):
            assert (await c.get(path, headers=_as(KEY_A))).status_code == 404
            assert (await c.get(path, headers=_as(KEY_B))).status_code == 200
        assert (await c.get("/metrics", headers=_as(KEY_A))).status_code == 401
        assert (await c.get("/metrics", headers=_as(ROOT))).status_code == 200


def test_endpoint_keys_from_the_environment() -> None:
    env = {"PITSTOP_ENDPOINT_KEYS": "a=k1, b=k2"}
    assert ServerConfig.from_env(env).endpoint_keys == ("a=k1", "b=k2")
    with pytest.raises(ConfigError, match="ENDPOINT=KEY"):
        create_app(ServerConfig(endpoint_keys=("no-equals-sign",)))


def test_endpoint_keys_and_key_files_count_as_keys_for_a_public_bind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="without API keys"):
        check_bind(ServerConfig(host="0.0.0.0"))
    check_bind(ServerConfig(host="0.0.0.0", endpoint_keys=("a=k",)))
    keys = tmp_path / "keys"
    keys.write_text("k1\n")
    check_bind(ServerConfig(host="0.0.0.0", api_key_file=str(keys)))
    with pytest.raises(ConfigError, match="cannot read key file"):
        create_app(ServerConfig(api_key_file=str(tmp_path / "missing")))


def test_keys_from_files_work_and_stay_out_of_ps(tmp_path: Path) -> None:
    client_file, worker_file = tmp_path / "client-keys", tmp_path / "worker-keys"
    client_file.write_text("# operators\nfile-client-key\n\n  second-client-key  \n")
    worker_file.write_text("file-worker-key\n")
    endpoint_file = tmp_path / "endpoint-keys"
    endpoint_file.write_text("a=file-endpoint-key\n")
    args = ["--store", f"sqlite:///{tmp_path}/pitstop.db", "--api-key-file", str(client_file)]
    args += ["--worker-key-file", str(worker_file), "--endpoint-key-file", str(endpoint_file)]
    with ServerProcess(args, tmp_path / "server", env={"PITSTOP_TAKE_WAIT": "0.1"}) as server:
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes()
        assert b"file-client-key" not in cmdline and b"file-worker-key" not in cmdline
        with httpx.Client(base_url=server.url) as c:
            for key in ("file-client-key", "second-client-key", "file-endpoint-key"):
                assert c.get("/v2/a/health", headers=_as(key)).status_code == 200, key
            assert c.get("/v2/a/health", headers=_as("# operators")).status_code == 401
            take = "/v2/a/job-take/w1?job_in_progress=0"
            assert c.get(take, headers={"Authorization": "file-worker-key"}).status_code == 204
