"""``runpod.serverless.worker``: the official worker entry points, from :mod:`pitstop.serverless.sdk.runner`.

``main(config)`` runs the local test job or pitstop's production worker;
``runpod.serverless.start`` is the usual entry point and calls pitstop's directly.
"""

from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.sdk.runner import Heartbeat, main, run_fitness_checks, run_worker

log = RunPodLogger()
heartbeat = Heartbeat()

__all__ = ["heartbeat", "log", "main", "run_fitness_checks", "run_worker"]
