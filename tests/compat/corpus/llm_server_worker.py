"""Corpus: a worker that starts its inference server as a child process at import.

Structure of RunPod's vLLM worker entry point: launch the server on loopback with its output
piped, wait for ``/health``, then start the serverless loop; the handler proxies each job to
the server over HTTP. The child is stopped at exit (and stops by itself if orphaned).
"""

import atexit
import json
import os
import subprocess
import sys
import time
import urllib.request

import runpod

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inference_server.py")


def start_server():
    proc = subprocess.Popen(
        [sys.executable, "-u", SERVER],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    first = proc.stdout.readline().split()
    if len(first) != 2 or first[0] != "PORT":
        raise RuntimeError(f"inference server did not start: {first}")
    return proc, f"http://127.0.0.1:{first[1]}"


def wait_healthy(url, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("inference server did not become healthy")


def stop_server():
    if SERVER_PROC.poll() is None:
        SERVER_PROC.terminate()
        SERVER_PROC.wait(5)


SERVER_PROC, SERVER_URL = start_server()
atexit.register(stop_server)
wait_healthy(SERVER_URL)


def handler(job):
    job_input = job["input"]
    request = urllib.request.Request(
        f"{SERVER_URL}/generate",
        data=json.dumps({"prompt": job_input.get("prompt", "")}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    if job_input.get("refresh"):
        return {"text": answer["text"], "refresh_worker": True}
    return {"text": answer["text"]}


runpod.serverless.start({"handler": handler, "concurrency_modifier": lambda current: 4})
