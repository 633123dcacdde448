"""Corpus: an LLM worker streaming tokens from an async generator, aggregated at the end.

Structure of RunPod's vLLM worker: ``RunPodLogger`` from ``runpod``, a startup error kept in
a global and yielded as an error, an engine initialised only in the main process, an async
generator handler, ``concurrency_modifier`` asking the engine, ``return_aggregate_stream``.
"""

import asyncio
import multiprocessing
import os

import runpod
from runpod import RunPodLogger

log = RunPodLogger()
STARTUP_ERROR = None
engine = None


class Engine:
    """Stands in for the inference engine: "generates" by echoing the prompt in batches."""

    max_concurrency = 8

    async def generate(self, prompt, batch_size):
        words = prompt.split()
        for start in range(0, len(words), batch_size):
            await asyncio.sleep(0)
            yield {"tokens": words[start : start + batch_size], "finished": False}
        yield {"tokens": [], "finished": True}


def initialize_engine():
    global engine, STARTUP_ERROR
    if os.environ.get("LLM_BROKEN"):
        STARTUP_ERROR = "Failed to initialize engine: no GPU (pretend)"
        log.error(STARTUP_ERROR)
        return
    engine = Engine()
    log.info("engine initialized")


async def handler(job):
    if STARTUP_ERROR:
        yield {"error": STARTUP_ERROR}
        return
    job_input = job["input"]
    try:
        async for batch in engine.generate(job_input["prompt"], job_input.get("batch", 2)):
            yield batch
    except Exception as err:
        log.error(f"Error during inference: {err}")
        yield {"error": str(err)}


if __name__ == "__main__" or multiprocessing.current_process().name == "MainProcess":
    initialize_engine()
    runpod.serverless.start(
        {
            "handler": handler,
            "concurrency_modifier": lambda x: engine.max_concurrency if engine else 1,
            "return_aggregate_stream": True,
        }
    )
