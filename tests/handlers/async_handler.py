"""Async handler scripted by its input (see _behave.py)."""

import _behave

import runpod

if __name__ == "__main__":
    runpod.serverless.start(_behave.config(_behave.act_async))
