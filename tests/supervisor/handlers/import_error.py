"""Test worker that cannot start: it imports a module that does not exist (a traceback on
stderr, exit code 1), as a worker missing one of its dependencies does."""

import pitstop_tests_no_such_module  # noqa: F401

import runpod

if __name__ == "__main__":
    runpod.serverless.start({"handler": lambda job: job})
