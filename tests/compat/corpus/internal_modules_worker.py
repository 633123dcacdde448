"""Corpus: a worker importing RunPod's internal modules, as many public workers do.

``RunPodLogger`` from ``runpod.serverless.modules.rp_logger``, the ``rp_http`` module,
``rp_cuda.is_available()``, the validator's message constants and ``runpod.error``.
"""

import runpod
from runpod.error import QueryError
from runpod.serverless.modules import rp_http
from runpod.serverless.modules.rp_logger import RunPodLogger
from runpod.serverless.utils import rp_cuda
from runpod.serverless.utils.rp_validator import CONSTRAINTS_ERROR

log = RunPodLogger()
log.info(f"cuda available: {rp_cuda.is_available()}")


def handler(job):
    job_input = job["input"]
    if job_input.get("query_error"):
        raise QueryError(job_input["query_error"])
    log.debug("handling", job["id"])
    return {
        "cuda": rp_cuda.is_available(),
        "same_logger": RunPodLogger() is runpod.RunPodLogger(),
        "has_done_url": hasattr(rp_http, "JOB_DONE_URL"),
        "message": CONSTRAINTS_ERROR.format("steps"),
    }


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
