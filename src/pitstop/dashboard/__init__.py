"""The web dashboard: server-rendered pages under ``/dashboard/`` with one small script.

Pages are Jinja2 templates (autoescaping, template inheritance, and blocks that double as the
live-update fragments, see :mod:`.render`) rather than string templates: escaping every value
by default is what keeps job inputs and outputs from injecting markup. Jinja2 is a dependency
of the ``server`` extra. The browser side is ``static/app.js`` (no build step) and the vendored
uPlot chart library (``static/vendor``, MIT); no request ever leaves the server's origin.

Modules: :mod:`.access` (keys, session cookie, CSRF), :mod:`.pages` (GET pages),
:mod:`.actions` (POST actions), :mod:`.render` (templates), :mod:`.jsonview` (JSON as HTML).
The JSON the pages' script reads is :mod:`pitstop.server.console_api`.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from pitstop.dashboard.render import HERE, STATIC_URL


def add_dashboard(app: Any) -> None:
    """Mount the pages, actions, static files and the ``/`` redirect on ``app``."""
    from pitstop.dashboard.actions import ACTIONS
    from pitstop.dashboard.pages import PAGES, login, root

    routes: list[Route] = [Route("/", root, methods=["GET"], include_in_schema=False)]
    routes.append(
        Route("/dashboard/login", login, methods=["GET", "POST"], include_in_schema=False)
    )
    routes += [Route(path, fn, methods=["GET"], include_in_schema=False) for path, fn in PAGES]
    routes += [Route(path, fn, methods=["POST"], include_in_schema=False) for path, fn in ACTIONS]
    app.router.routes.extend(routes)
    app.mount(STATIC_URL, StaticFiles(directory=HERE / "static"), name="dashboard-static")
