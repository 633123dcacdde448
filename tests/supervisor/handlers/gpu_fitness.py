"""Test worker whose GPU fitness check fails on device 1 (``CUDA_VISIBLE_DEVICES=1``), as a
broken GPU fails RunPod's check; any other device passes. Returns its devices."""

import os

import runpod


@runpod.serverless.register_fitness_check
def check_gpu_memory():
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "1":
        raise RuntimeError("GPU 1 does not answer")


def handler(job):
    return {"cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
