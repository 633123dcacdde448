"""Corpus: a mock worker with side effects chosen by the input, and a generator variant.

Structure of RunPod's mock worker: ``_side_effects`` sleeps, crashes or raises on request; the
plain handler returns ``mock_return`` (with ``refresh_worker`` when asked); ``--generator``
on the command line selects the generator handler, parsed by the worker's own argparse.
"""

import argparse
import os
import time

import runpod


def _side_effects(job_input):
    time.sleep(job_input.get("mock_delay", 0))
    if job_input.get("mock_crash"):
        os._exit(1)
    if job_input.get("mock_error"):
        raise Exception("Mock error")  # the generic class, as the original does
    return job_input


def handler(job):
    job_input = _side_effects(job["input"])
    result = job_input.get("mock_return", "Hello World!")
    if job_input.get("mock_refresh"):
        return {"refresh_worker": True, "mock_return": result}
    return result


def generator_handler(job):
    job_input = _side_effects(job["input"])
    yield from job_input.get("mock_return", ["Hello", "World"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--generator", action="store_true")
    args, _rest = parser.parse_known_args()
    runpod.serverless.start({"handler": generator_handler if args.generator else handler})
