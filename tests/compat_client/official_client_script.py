"""Run by the OFFICIAL runpod SDK's interpreter: drive ``runpod.Endpoint`` against a pitstop
server (``RUNPOD_ENDPOINT_BASE_URL``) and print one JSON document of what it saw.

Endpoints come from the environment: ``COMPAT_EP`` (scripted async handler), ``COMPAT_STREAM_EP``
(async generator) and ``COMPAT_IDLE_EP`` (no worker). Standard library + runpod only.
"""

import asyncio
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import runpod

runpod.api_key = os.environ["COMPAT_KEY"]


def wait_for(job, state, timeout=20.0):
    deadline = time.monotonic() + timeout
    while job.status() != state:
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job.job_id} never reached {state}")
        time.sleep(0.05)


def run_and_output(endpoint_id):
    endpoint = runpod.Endpoint(endpoint_id)
    job = endpoint.run({"return": {"v": 1}})
    return {"run_id": job.job_id, "output": job.output(timeout=30), "status": job.status()}


def run_sync(endpoint_id):
    endpoint = runpod.Endpoint(endpoint_id)
    return {
        "run_sync": endpoint.run_sync({"return": "sync-ok"}, timeout=30),
        "run_sync_failed": endpoint.run_sync({"raise": "official-boom"}, timeout=30),
    }


def stream(endpoint_id):
    job = runpod.Endpoint(endpoint_id).run({"yield": [1, {"two": 2}, "three"]})
    return {"stream": list(job.stream()), "stream_status": job.status()}


def cancel(endpoint_id):
    endpoint = runpod.Endpoint(endpoint_id)
    running = endpoint.run({"sleep": 30})
    wait_for(running, "IN_PROGRESS")
    answer = running.cancel()
    fresh = runpod.endpoint.runner.Job(endpoint_id, running.job_id, endpoint.rp_client)
    return {"cancel": answer, "cancel_status": fresh.status()}


def health_and_purge(endpoint_id):
    idle = runpod.Endpoint(endpoint_id)
    idle.run({"n": 1})
    idle.run({"input": {"n": 2}, "webhook": "http://127.0.0.1:9/hook"})
    seen = {"health": idle.health(), "purge": idle.purge_queue()}
    seen["health_after"] = idle.health()
    return seen


def asyncio_client(endpoint_id, stream_endpoint_id):
    async def scenario():
        async with runpod.http_client.AsyncClientSession() as session:
            endpoint = runpod.AsyncioEndpoint(endpoint_id, session)
            job = await endpoint.run({"return": "async-ok"})
            output = await job.output(timeout=30)
            streamer = runpod.AsyncioEndpoint(stream_endpoint_id, session)
            streamed = await streamer.run({"yield": ["a", "b"]})
            chunks = [chunk async for chunk in streamed.stream()]
            return {
                "async_output": output,
                "async_status": await job.status(),
                "async_stream": chunks,
                "async_health": await endpoint.health(),
            }

    return asyncio.run(scenario())


def main():
    """Independent scenarios run in threads: the SDK sleeps 1 s per poll."""
    ep, stream_ep, idle_ep = (
        os.environ[k] for k in ("COMPAT_EP", "COMPAT_STREAM_EP", "COMPAT_IDLE_EP")
    )
    seen = {"base": runpod.endpoint_url_base}
    scenarios = [
        (run_and_output, ep),
        (run_sync, ep),
        (stream, stream_ep),
        (cancel, ep),
        (health_and_purge, idle_ep),
        (asyncio_client, ep, stream_ep),
    ]
    with ThreadPoolExecutor(len(scenarios)) as pool:
        for part in pool.map(lambda spec: spec[0](*spec[1:]), scenarios):
            seen.update(part)
    print("COMPAT-RESULT " + json.dumps(seen))


if __name__ == "__main__":
    main()
