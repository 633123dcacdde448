"""The official SDK's internal module API (``runpod.serverless.modules.*``) on pitstop's runtime.

Public workers import more than ``runpod.serverless.start``: ``rp_job.run_job``,
``rp_http.send_result``, ``worker_state.JobsProgress``, ``rp_scale.JobScaler``... The
facade modules under ``src/runpod`` re-export these adapters with the official names and
signatures; the behaviour lives here, built on pitstop's handler invocation, result shapes
and worker loop:

* :mod:`.jobs` runs one job the official way (``run_job``, ``run_job_generator``,
  ``handle_job``) and returns the official dict shapes;
* :mod:`.wire` sends and takes with the official function signatures (``send_result``,
  ``stream_result``, ``get_job``, ``get_stop_signals``) and builds the official sessions;
* :mod:`.runner` adapts the official worker classes and entry points (``JobScaler``,
  ``Heartbeat``, ``WorkerAPI``, ``worker.main``, ``rp_local.run_local``) onto pitstop's
  worker, and says clearly what pitstop does not do.
"""
