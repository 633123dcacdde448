"""Fixtures shared by the supervisor and example tests (defined in tests/supervisor/helpers)."""

from tests.supervisor.helpers import fast_workers, lines, script

__all__ = ["fast_workers", "lines", "script"]
