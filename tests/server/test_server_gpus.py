"""GPU telemetry on the server: the report route (worker-key auth, strict validation), where
the readings show (``/health``, the workers lists, ``/metrics``), on both stores, and stale
samples shown as device ids only. The supervisor's side is in tests/supervisor."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pitstop.models import GpuSample, WorkerInfo, WorkerMeta
from pitstop.server.gpus import device_rows
from pitstop.server.runner import RunningServer

H100 = {
    "index": "0",
    "name": "NVIDIA H100",
    "utilization": 37,
    "memoryUsed": 1 << 30,
    "memoryTotal": 80 << 30,
    "temperature": 61,
}


def report(workers: dict[str, Any], interval_ms: Any = 5000) -> dict[str, Any]:
    return {"intervalMs": interval_ms, "workers": workers}


async def ping(client: httpx.AsyncClient, endpoint: str, worker: str, gpus: str) -> None:
    params = {"pitstop_pid": "42", "pitstop_gpus": gpus}
    response = await client.get(f"/v2/{endpoint}/ping/{worker}", params=params)
    assert response.status_code == 200, response.text


async def test_readings_show_in_health_workers_and_metrics(
    any_client: httpx.AsyncClient,
) -> None:
    client = any_client
    await ping(client, "ep", "w1", "0,1")
    await ping(client, "ep", "w2", "2")
    l4 = {**H100, "index": "1", "name": "NVIDIA L4", "temperature": None}
    sent = report({"w1": [H100, l4], "ghost": [H100]})
    answer = await client.post("/pitstop/v1/endpoints/ep/gpus", json=sent)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"recorded": ["w1"], "unknown": ["ghost"]}

    health = (await client.get("/v2/ep/health")).json()
    assert set(health) == {"jobs", "workers", "gpus"}
    assert health["workers"]["idle"] == 2, "RunPod's counters are as before"
    rows = {(g["workerId"], g["index"]): g for g in health["gpus"]}
    assert set(rows) == {("w1", "0"), ("w1", "1"), ("w2", "2")}
    assert {k: rows["w1", "0"][k] for k in H100} == H100
    assert rows["w1", "0"]["sampledAt"] is not None
    assert rows["w1", "1"]["temperature"] is None and rows["w1", "1"]["utilization"] == 37
    assert rows["w2", "2"] == {
        **dict.fromkeys(H100, None),
        "workerId": "w2",
        "index": "2",
        "sampledAt": None,
    }, "no telemetry for w2: its device id only"

    listed = (await client.get("/pitstop/v1/endpoints/ep/workers")).json()["workers"]
    devices = {w["id"]: w["gpuDevices"] for w in listed}
    assert [d["index"] for d in devices["w1"]] == ["0", "1"]
    assert devices["w1"][0]["memoryTotal"] == 80 << 30
    console = (await client.get("/pitstop/v1/workers")).json()["workers"]
    by_id = {w["id"]: w for w in console}
    assert by_id["w1"]["gpus"] == "0,1" and by_id["w1"]["gpuDevices"] == devices["w1"]

    metrics = (await client.get("/metrics")).text
    where = 'endpoint="ep",worker="w1",gpu="0"'
    assert f"pitstop_gpu_utilization_ratio{{{where}}} 0.37" in metrics
    assert f"pitstop_gpu_memory_used_bytes{{{where}}} {float(1 << 30)!r}" in metrics
    assert f"pitstop_gpu_memory_total_bytes{{{where}}} {float(80 << 30)!r}" in metrics
    assert f"pitstop_gpu_temperature_celsius{{{where}}} 61.0" in metrics
    assert 'pitstop_gpu_temperature_celsius{endpoint="ep",worker="w1",gpu="1"}' not in metrics
    assert 'worker="w2"' not in metrics, "no reading, no gauge"


async def test_a_new_report_replaces_the_last_and_pings_keep_it(
    any_client: httpx.AsyncClient,
) -> None:
    client = any_client
    await ping(client, "ep", "w1", "0")
    for utilization in (10, 90):
        body = report({"w1": [{**H100, "utilization": utilization}]})
        assert (await client.post("/pitstop/v1/endpoints/ep/gpus", json=body)).status_code == 200
    await ping(client, "ep", "w1", "0")
    health = (await client.get("/v2/ep/health")).json()
    assert [g["utilization"] for g in health["gpus"]] == [90]
    other = (await client.post("/pitstop/v1/endpoints/other/gpus", json=body)).json()
    assert other == {"recorded": [], "unknown": ["w1"]}, "w1 is not a worker of 'other'"


async def test_without_gpus_health_is_runpods_shape(client: httpx.AsyncClient) -> None:
    await client.get("/v2/ep/ping/w1")
    assert set((await client.get("/v2/ep/health")).json()) == {"jobs", "workers"}


def test_a_sample_goes_stale_after_a_few_intervals() -> None:
    meta = WorkerMeta(gpus="0")
    sample = GpuSample(at=100.0, interval=5.0, devices=(H100,))
    worker = WorkerInfo("w1", "ep", 100.0, meta=meta, gpus=sample)
    assert device_rows(worker, 114.0)[0]["utilization"] == 37
    stale = device_rows(worker, 116.0)
    assert stale == [{**dict.fromkeys(H100, None), "index": "0", "sampledAt": None}]
    quick = WorkerInfo("w1", "ep", 100.0, meta=meta, gpus=GpuSample(100.0, 0.05, (H100,)))
    assert device_rows(quick, 100.9)[0]["sampledAt"] == 100.0, "never stale within a second"
    assert device_rows(quick, 101.1)[0]["sampledAt"] is None


BAD_REPORTS: list[tuple[Any, str]] = [
    ([], "body must be"),
    ({"workers": {}}, "intervalMs must be an integer from 10 to 3600000"),
    (report({}, 5), "intervalMs"),
    (report({}, True), "intervalMs"),
    (report({}, 50.5), "intervalMs"),
    ({**report({}), "extra": 1}, "unknown field 'extra'"),
    (report([]), "workers must be an object"),
    (report({f"w{i}": [] for i in range(257)}), "at most 256 worker ids"),
    (report({"bad id!": []}), "'bad id!' is not a valid worker id"),
    (report({"w1": {}}), "workers.w1 must be a list of at most 64 devices"),
    (report({"w1": [H100] * 65}), "at most 64 devices"),
    (report({"w1": ["0"]}), "workers.w1[0] must be an object"),
    (report({"w1": [{**H100, "power": 300}]}), "workers.w1[0]: unknown field 'power'"),
    (report({"w1": [{**H100, "index": 0}]}), "workers.w1[0].index must be a device index"),
    (report({"w1": [{**H100, "index": "GPU-1"}]}), "index must be a device index"),
    (report({"w1": [{**H100, "name": "x" * 256}]}), "workers.w1[0].name must be printable"),
    (report({"w1": [{**H100, "name": "bell\a"}]}), "name must be printable ASCII"),
    (report({"w1": [{**H100, "utilization": 101}]}), "workers.w1[0].utilization must be"),
    (report({"w1": [{**H100, "utilization": "37"}]}), "utilization must be null or an integer"),
    (report({"w1": [{**H100, "memoryUsed": -1}]}), "workers.w1[0].memoryUsed must be"),
    (report({"w1": [{**H100, "memoryTotal": 2**53}]}), "memoryTotal must be"),
    (report({"w1": [{**H100, "temperature": 1001}]}), "temperature must be"),
]


@pytest.mark.parametrize(("body", "problem"), BAD_REPORTS)
async def test_bad_reports_are_refused_naming_the_field(
    client: httpx.AsyncClient, body: Any, problem: str
) -> None:
    await ping(client, "ep", "w1", "0")
    response = await client.post("/pitstop/v1/endpoints/ep/gpus", json=body)
    assert response.status_code == 400, response.text
    assert problem in response.json()["error"]["message"]
    health = (await client.get("/v2/ep/health")).json()
    assert [g["sampledAt"] for g in health["gpus"]] == [None], "nothing refused is kept"


async def test_the_report_needs_a_worker_key(start: Any) -> None:
    server: RunningServer = await start(client_keys=("ck",), worker_keys=("wk",))
    body = report({"w1": [H100]})
    url = f"{server.url}/pitstop/v1/endpoints/ep/gpus"
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, json=body)).status_code == 401
        wrong = await client.post(url, json=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await client.post(url, json=body, headers={"Authorization": "Bearer wk"})
        assert ok.status_code == 200 and ok.json() == {"recorded": [], "unknown": ["w1"]}
        bad_endpoint = await client.post(
            f"{server.url}/pitstop/v1/endpoints/-x/gpus",
            json=body,
            headers={"Authorization": "Bearer wk"},
        )
        assert bad_endpoint.status_code == 400
