"""Test worker that starts a long-lived child process at import, as the vLLM worker starts its
inference server; the child inherits stdout and stderr.

``sys.argv[1]``: a file each worker appends its child's pid to. ``sys.argv[2] == "ignore-term"``
makes the child ignore SIGTERM (only SIGKILL ends it). A job's input ``{"exit": N}`` ends the
worker with exit code N on the job's first attempt; ``{"refresh": true}`` asks for a new
process after the job. Every output names the worker's pid, its child's pid, ``sys.argv``
and the GPU variables (``CUDA_VISIBLE_DEVICES``, ...) and ``HF_HOME``.
"""

import os
import subprocess
import sys

import runpod

CHILD = """
import signal, sys, time
if sys.argv[1:] == ["ignore-term"]:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("child up", flush=True)
time.sleep(600)
"""

child = subprocess.Popen([sys.executable, "-c", CHILD, *sys.argv[2:3]])
with open(sys.argv[1], "a") as pids:
    pids.write(f"{child.pid}\n")


def gpu_env():
    """The GPU variables the supervisor set for this worker (and ``HF_HOME``, from ``env``)."""
    names = (
        "CUDA_VISIBLE_DEVICES",
        "CUDA_DEVICE_ORDER",
        "NVIDIA_VISIBLE_DEVICES",
        "RUNPOD_GPU_COUNT",
        "HF_HOME",
    )
    return {name: os.environ.get(name) for name in names}


def handler(job):
    if "exit" in job["input"] and job.get("attempt", 1) <= 1:
        os._exit(int(job["input"]["exit"]))
    result = {"pid": os.getpid(), "child": child.pid, "argv": sys.argv, **gpu_env()}
    if job["input"].get("refresh"):
        result["refresh_worker"] = True
    return result


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
