"""``runpod.serverless.modules.rp_fitness``: fitness checks, from :mod:`pitstop.serverless.fitness`.

``run_fitness_checks()`` runs the registered checks, then pitstop's built-in ones.
"""

from pitstop.serverless.fitness import clear_fitness_checks, register_fitness_check
from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.sdk.runner import run_fitness_checks

log = RunPodLogger()

__all__ = [
    "RunPodLogger",
    "clear_fitness_checks",
    "log",
    "register_fitness_check",
    "run_fitness_checks",
]
