"""Test worker that crashes at import the first time (no file at ``sys.argv[1]`` yet) and
starts normally from then on: a failure that a restart cures."""

import os
import sys

import runpod

if not os.path.exists(sys.argv[1]):
    open(sys.argv[1], "w").close()
    raise RuntimeError("first start fails")


def handler(job):
    return {"pid": os.getpid()}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
