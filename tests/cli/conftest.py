"""CLI tests run against a live server with real worker processes (tests/client/fixtures.py)."""

from tests.client.fixtures import client, live, workers

__all__ = ["client", "live", "workers"]
