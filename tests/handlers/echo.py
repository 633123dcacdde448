"""The smallest RunPod worker: returns its input."""

import runpod


def handler(job):
    return job["input"]


runpod.serverless.start({"handler": handler})
