"""Who may see what: API keys, the dashboard's session cookie and CSRF tokens.

Every "may this request see endpoint X / which endpoints may it see" decision of the
dashboard and of the console JSON (``/pitstop/v1``) goes through :func:`access`, which
returns an :class:`Access`; :func:`key_scope` is the one place that maps a key to the
endpoints it opens (scoped keys plug in there).

A request is identified, in this order, by its ``Authorization`` key (CLI, scripts), by the
dashboard's session cookie, or by nothing when no client key is configured (every endpoint
is open). Otherwise it gets 401 (JSON) or the sign-in page (HTML): no job data is served.

The session cookie (``pitstop_session``: HttpOnly, SameSite=Strict, Secure over https) holds
a fingerprint of the key, an expiry and a nonce, signed with HMAC-SHA256. It never holds the
key itself. The signing secret is derived from the configured keys, so every server sharing
the keys accepts the cookie, and changing the keys signs everybody out. Without keys the
secret is random per process and the cookie only carries the CSRF nonce.

CSRF: every POST of the dashboard carries a token (form field ``csrf`` or header
``X-CSRF-Token``) equal to an HMAC of the session's nonce, and a cross-site ``Origin`` or
``Sec-Fetch-Site`` is refused outright. SameSite=Strict already keeps the cookie off
cross-site requests; the token makes the check independent of browser support.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from pitstop.errors import Forbidden, NotFound, Unauthorized
from pitstop.server.auth import Auth, presented_key
from pitstop.server.bodies import read_body
from pitstop.server.limits import check_id

COOKIE = "pitstop_session"
SESSION_S = 7 * 86400
"""How long a sign-in lasts."""
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
OPEN = "-"
"""The key fingerprint of a session on a server without client keys."""


@dataclass(frozen=True)
class Access:
    """What one request may see: ``endpoints`` None means every endpoint."""

    endpoints: frozenset[str] | None
    key: str | None = None
    """The key the request acts with (None on a server without client keys)."""
    nonce: str | None = None
    """The session's CSRF nonce (None for requests that carried a key, not a cookie)."""

    def may_see(self, endpoint: str) -> bool:
        """Whether jobs, workers and stats of ``endpoint`` may be shown."""
        return self.endpoints is None or endpoint in self.endpoints

    def visible(self, endpoints: list[str]) -> list[str]:
        """``endpoints`` without the ones this request may not see."""
        return [e for e in endpoints if self.may_see(e)]


def key_scope(auth: Auth, key: str) -> frozenset[str] | None:
    """The endpoints ``key`` opens: None (all) for a client key; 401 for any other key.

    The single place where a key becomes a scope: keys valid for some endpoints only
    (``--endpoint-key EP=KEY``) return those endpoints here.
    """
    if any(hmac.compare_digest(key, known) for known in auth.client_keys):
        return None
    for known, endpoints in auth.endpoint_keys.items():
        if hmac.compare_digest(key, known):
            return endpoints
    raise Unauthorized("invalid client API key")


def sign_in_keys(auth: Auth) -> tuple[str, ...]:
    """Every key that may sign in to the dashboard (client keys, and scoped keys)."""
    return tuple(sorted({*auth.client_keys, *auth.endpoint_keys}))


def access(request: Request) -> Access:
    """The request's :class:`Access` (cached on the request); 401 when it has none."""
    cached = getattr(request.state, "pitstop_access", None)
    if isinstance(cached, Access):
        return cached
    found = _identify(request)
    request.state.pitstop_access = found
    return found


def require_endpoint(request: Request, endpoint: str) -> Access:
    """The request's access if it may see ``endpoint``; else 404 (existence is not told).
    An id that could never name an endpoint is a 400."""
    check_id(endpoint, "endpoint id")
    found = access(request)
    if not found.may_see(endpoint):
        raise NotFound(f"endpoint {endpoint!r} not found")
    return found


def _identify(request: Request) -> Access:
    auth = _auth(request)
    key = presented_key(request)
    if key is not None:
        if auth.open_client:
            return Access(None, key)
        return Access(key_scope(auth, key), key)
    session = read_session(request)
    if session is not None:
        return session
    if auth.open_client:
        return Access(None)
    raise Unauthorized("sign in: send 'Authorization: Bearer <client key>'")


def _auth(request: Request) -> Auth:
    auth: Auth = request.app.state.pitstop.auth
    return auth


# -- the session cookie ----------------------------------------------------------------------


def _secret(request: Request) -> bytes:
    """The signing secret of this app (see the module docstring); made once per app."""
    app_state = request.app.state
    secret: bytes | None = getattr(app_state, "pitstop_session_secret", None)
    if secret is None:
        keys = sign_in_keys(_auth(request))
        if keys:
            secret = hashlib.sha256(
                b"pitstop-dashboard-session\0" + "\0".join(keys).encode()
            ).digest()
        else:
            secret = os.urandom(32)
        app_state.pitstop_session_secret = secret
    return secret


def _fingerprint(key: str) -> str:
    return hashlib.sha256(b"pitstop-key\0" + key.encode()).hexdigest()[:24]


def _sign(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def session_value(request: Request, key: str | None, nonce: str) -> str:
    """A signed cookie value for ``key`` (None: an anonymous session, no keys set)."""
    fingerprint = OPEN if key is None else _fingerprint(key)
    body = f"{fingerprint}.{int(time.time()) + SESSION_S}.{nonce}"
    return f"{body}.{_sign(_secret(request), body)}"


def read_session(request: Request) -> Access | None:
    """The access of a valid, unexpired session cookie whose key is still configured."""
    raw = request.cookies.get(COOKIE)
    if not raw or raw.count(".") != 3:
        return None
    body, _, signature = raw.rpartition(".")
    if not hmac.compare_digest(signature, _sign(_secret(request), body)):
        return None
    fingerprint, expires, nonce = body.split(".")
    if not expires.isdigit() or int(expires) < time.time():
        return None
    auth = _auth(request)
    if fingerprint == OPEN:
        return Access(None, None, nonce) if auth.open_client else None
    for key in sign_in_keys(auth):
        if hmac.compare_digest(_fingerprint(key), fingerprint):
            try:
                return Access(key_scope(auth, key), key, nonce)
            except Unauthorized:
                return None
    return None


def set_session(request: Request, response: Response, key: str | None) -> str:
    """Put a new session for ``key`` on ``response``; return its CSRF nonce."""
    nonce = secrets.token_hex(12)
    response.set_cookie(
        COOKIE,
        session_value(request, key, nonce),
        max_age=SESSION_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return nonce


def clear_session(request: Request, response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


# -- CSRF --------------------------------------------------------------------------------------


def csrf_token(request: Request, nonce: str) -> str:
    """The token pages embed for the session with ``nonce``."""
    return _sign(_secret(request), f"csrf.{nonce}")[:32]


def check_same_origin(request: Request) -> None:
    """403 for a request a browser marks as coming from another site."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise Forbidden("cross-site request refused")
    origin = request.headers.get("origin")
    if origin is not None and origin != _own_origin(request):
        raise Forbidden("cross-origin request refused")


def check_csrf(request: Request, sent: str | None) -> Access:
    """The session's access if ``sent`` is its CSRF token and the request is same-origin."""
    check_same_origin(request)
    session = read_session(request)
    if session is None or session.nonce is None:
        raise Forbidden("your session has expired: reload the page")
    if not sent or not hmac.compare_digest(sent, csrf_token(request, session.nonce)):
        raise Forbidden("missing or wrong CSRF token: reload the page")
    request.state.pitstop_access = session
    return session


async def read_form(request: Request, limit: int) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the dashboard's forms upload no files),
    refused with 413 over ``limit`` bytes."""
    body = await read_body(request, limit)
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _own_origin(request: Request) -> str:
    url = request.url
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = "" if url.port in (None, default) else f":{url.port}"
    return f"{url.scheme}://{url.hostname}{port}"
