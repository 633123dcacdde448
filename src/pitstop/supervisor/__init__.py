"""The supervisor behind ``pitstop serve`` and ``pitstop worker``.

``serve(sup, srv)`` starts the job server in this process and supervised worker processes for
a handler file; ``run_workers(sup)`` supervises workers for a remote server. Both return the
process exit code (0 after a drain on Ctrl-C/SIGTERM). :class:`Supervisor` is the reusable
piece underneath (one endpoint's worker pool against a server URL).
"""

from __future__ import annotations

from pitstop.supervisor.runner import (
    Supervisor,
    run_workers,
    run_workers_async,
    serve,
    serve_async,
)

__all__ = ["Supervisor", "run_workers", "run_workers_async", "serve", "serve_async"]
