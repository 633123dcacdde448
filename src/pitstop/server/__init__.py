"""The job server: RunPod's client and worker APIs for any number of endpoints.

Import the pieces from their modules (``pitstop.server.app.create_app``,
``pitstop.server.runner.start_server`` / ``run``, ``pitstop.server.urls.worker_env``,
``pitstop.server.local.serve_api``); this package itself imports nothing heavy.
"""
