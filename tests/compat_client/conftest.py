"""Compat tests run the official SDK against a live pitstop server (tests/client/fixtures.py)."""

from tests.client.fixtures import client, live, workers

__all__ = ["client", "live", "workers"]
