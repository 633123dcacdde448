"""Rendering: the Jinja2 environment, its filters, and the headers every page carries.

Pages are whole documents; a ``?part=NAME`` request renders one live section alone (the
same template block), which the page's script swaps in place. So the HTML is written once,
in the templates, whether it arrives with the page or as a live update.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from pitstop import __version__
from pitstop.dashboard import jsonview
from pitstop.dashboard.access import Access, csrf_token, read_session, set_session
from pitstop.readings import gpu_reading

HERE = Path(__file__).parent
STATIC_URL = "/dashboard/static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def timestamp(value: float | None) -> Markup:
    """A ``<time>`` element (UTC in the markup; the page's script shows local time)."""
    if value is None:
        return Markup('<span class="muted">—</span>')
    moment = dt.datetime.fromtimestamp(value, dt.timezone.utc)
    iso = moment.isoformat(timespec="milliseconds")
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return Markup(f'<time datetime="{iso}">{text} UTC</time>')


def duration(ms: float | None) -> str:
    """Milliseconds for humans: ``85 ms``, ``3.2 s``, ``4 min 3 s``, ``2 h 5 min``."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def since(value: float | None, now: float) -> str:
    """How long ago ``value`` was (``3 s ago``)."""
    if value is None:
        return "—"
    return f"{duration(max(0.0, now - value) * 1000)} ago"


def json_text(value: Any) -> str:
    """Pretty JSON text (for the try-it text area and copy-as-curl)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def json_compact(value: Any) -> str:
    """One-line JSON text (stream chunks)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def make_environment() -> Environment:
    """The dashboard's Jinja2 environment (autoescaped HTML, strict undefined names)."""
    from jinja2 import StrictUndefined

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        timestamp=timestamp,
        duration=duration,
        json_text=json_text,
        gpu_reading=gpu_reading,
        json_compact=json_compact,
        jsontree=jsonview.render,
    )
    env.globals.update(
        version=__version__, static=lambda name: f"{STATIC_URL}/{name}?v={__version__}"
    )
    # The shared macros as a global, so that a block rendered alone (``?part=``) has them.
    env.globals["ui"] = env.get_template("macros.html").module
    return env


ENV = make_environment()


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    found: Access | None = None,
    status_code: int = 200,
) -> Response:
    """Render ``template`` (or only its ``?part=`` block) with the common context.

    A browser without a valid session gets one (anonymous on a server without keys), so
    every page can carry a CSRF token for its forms.
    """
    session = read_session(request)
    nonce = session.nonce if session is not None else None
    common = {
        "request": request,
        "signed_in": found is not None and found.key is not None,
        "now": request.app.state.pitstop.now(),
        "csrf": csrf_token(request, nonce) if nonce else "",
    }
    page = ENV.get_template(template)
    part = request.query_params.get("part")
    if part and part in page.blocks:
        body = "".join(page.blocks[part](page.new_context({**common, **context})))
        return HTMLResponse(body, status_code, headers=SECURITY_HEADERS)
    response = HTMLResponse("", status_code, headers=SECURITY_HEADERS)
    if nonce is None and found is not None:
        common["csrf"] = csrf_token(request, set_session(request, response, found.key))
    response.body = response.render(page.render({**common, **context}))
    response.headers["content-length"] = str(len(response.body))
    return response
