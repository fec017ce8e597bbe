"""Login for the dashboard: a guard in front of every route of the Dash server.

No page, callback, layout, download or asset answers a visitor who has not logged in; only
the login page, its form POST and the one stylesheet that page needs are public. Sessions are
Flask's signed cookies (HttpOnly, SameSite=Lax, Secure over https) carrying the user's name
and a password stamp that is checked against the account store, a file outside the graph
(cached for a few seconds, so a removed account or a changed password ends its sessions
quickly). The login and logout
forms carry a CSRF token kept in the session; Dash's own POSTs must be JSON, which a
cross-site form cannot send. Failed logins are rate-limited per name and per address. Every
response carries security headers (a Content-Security-Policy fitted to Dash, frame and
content-type protections, a strict referrer policy, no caching of data).
"""

from __future__ import annotations

import html
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import flask
from dash import Dash
from flask.sessions import SecureCookieSessionInterface
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from graph.accounts import AccountError, AccountStore, Role, User

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
LOGIN_CSS = "/assets/login.css"
# Browsers ask for it on every page; behind the login it bounced to the login page, whose
# answer could replace the session cookie (and its CSRF token) of a form being filled in.
FAVICON_PATH = "/favicon.ico"
PUBLIC_PATHS = frozenset({LOGIN_PATH, LOGIN_CSS, FAVICON_PATH})
# Answered with 401 rather than a redirect: machine endpoints of Dash.
_API_PREFIXES = ("/_dash-", "/_reload-hash", "/_alive")
DB_DOWN = "The graph database is not reachable; retrying…"
ACCOUNTS_DOWN = "The account store cannot be read; ask an administrator."

# Dash needs no eval and no inline script but its own (hashed at start); components set
# inline styles, so style-src allows them; exported images are data: and blob: URLs.
_CSP = ("default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def load_secret_key(configured: str | None, home: Path) -> bytes:
    """The session signing key: the configured one, else one generated once and kept in
    `home/secret_key` with mode 0600."""
    if configured:
        return configured.encode()
    path = home / "secret_key"
    if path.exists():
        return path.read_bytes().strip()
    home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class RateLimiter:
    """At most `limit` failures per key within `window` seconds (thread-safe, in memory)."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._trim(k, now)) >= self.limit for k in keys)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._trim(k, now).append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class _SessionInterface(SecureCookieSessionInterface):
    """Secure cookies whenever the request came over https (or https is configured)."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            flask.has_request_context() and flask.request.is_secure)


@dataclass(frozen=True)
class Gate:
    """Who may use a page and its callbacks: a minimum role, and optionally clearance for
    every marking in the graph (pages that cannot filter by TLP)."""

    role: Role
    all_markings: bool = False


def current_user() -> User | None:
    """The logged-in user of this request (set by the guard), or None."""
    return flask.g.get("policykg_user") if flask.has_request_context() else None


def current_clearance() -> str:
    """The clearance of this request's user; the lowest marking when there is none."""
    user = current_user()
    return user.clearance if user else "CLEAR"


def csrf_token() -> str:
    token = flask.session.get("csrf")
    if not token:
        token = flask.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def _csrf_ok() -> bool:
    sent = flask.request.form.get("csrf", "")
    expected = flask.session.get("csrf", "")
    return bool(sent and expected) and secrets.compare_digest(str(sent), str(expected))


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no `//`), else the explorer."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def _login_page(message: str = "", next_: str = "/", name: str = "") -> str:
    note = f'<p class="login-error" role="alert">{html.escape(message)}</p>' if message else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>policykg: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><link rel="stylesheet" href="{LOGIN_CSS}"></head>
<body class="login-body"><main class="login-card">
<h1><span class="brand-a">policy</span><span class="brand-b">kg</span></h1>
<p class="login-tagline">European cyber policy knowledge graph</p>{note}
<form method="post" action="{LOGIN_PATH}" id="login-form">
<input type="hidden" name="csrf" value="{html.escape(csrf_token())}">
<input type="hidden" name="next" value="{html.escape(next_)}">
<label for="login-name">User name</label>
<input id="login-name" name="username" autocomplete="username" required autofocus
 value="{html.escape(name)}">
<label for="login-password">Password</label>
<input id="login-password" name="password" type="password" autocomplete="current-password"
 required>
<button type="submit" id="login-submit">Log in</button>
</form></main></body></html>"""


class Auth:
    """Installs the guard, the login and logout routes and the headers on a Dash app."""

    def __init__(self, store: AccountStore, *,
                 markings: Callable[[], list[str]] | None = None,
                 limiter: RateLimiter | None = None, cache_seconds: float = 10.0) -> None:
        """`markings` answers which TLP markings the graph holds (for pages that cannot
        filter by TLP); without it such pages are refused to everyone (fail closed)."""
        self.store = store
        self.markings = markings
        self.limiter = limiter or RateLimiter()
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, User | None]] = {}
        self._lock = threading.Lock()
        self._gates: dict[str, Gate] = {}  # callback output id -> gate
        self._markings_cache: tuple[float, list[str]] | None = None
        self._csp = _CSP.format(hashes="")

    # --- gates ------------------------------------------------------------------------------

    def gate_callbacks(self, app: Dash, register: Callable[[], None], gate: Gate) -> None:
        """Run `register` (a page's register_callbacks) and gate every callback it added."""
        before = set(app.callback_map)
        register()
        for output in set(app.callback_map) - before:
            self._gates[output] = gate

    def allows(self, user: User | None, gate: Gate) -> bool:
        """May `user` use what `gate` protects? Unreachable database: no (fail closed)."""
        if user is None or not user.can(gate.role):
            return False
        if not gate.all_markings:
            return True
        try:
            return all(user.cleared_for(m) for m in self._markings())
        except (ServiceUnavailable, SessionExpired):
            return False

    def _markings(self) -> list[str]:
        """The markings present in the graph, cached briefly (gated pages poll)."""
        now = time.monotonic()
        with self._lock:
            if self._markings_cache and now - self._markings_cache[0] < self.cache_seconds:
                return self._markings_cache[1]
        if self.markings is None:
            return ["RED", "unknown"]  # nobody is cleared for an unknown marking
        markings = self.markings()
        with self._lock:
            self._markings_cache = (now, markings)
        return markings

    # --- sessions ----------------------------------------------------------------------------

    def _lookup(self, name: str) -> User | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(name)
        if hit and now - hit[0] < self.cache_seconds:
            return hit[1]
        user = self.store.get(name)
        with self._lock:
            self._cache[name] = (now, user)
        return user

    def forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)

    def session_user(self) -> User | None:
        session = flask.session
        name = session.get("user")
        if not isinstance(name, str):
            return None
        try:
            user = self._lookup(name)
        except (AccountError, OSError):
            return None  # the accounts file cannot be read: fail closed
        if user is None or user.stamp != session.get("stamp"):
            session.clear()
            return None
        return user

    # --- installation -----------------------------------------------------------------------

    def install(self, app: Dash, *, secret_key: bytes, https: bool = False,
                session_hours: float = 8.0) -> None:
        server: flask.Flask = app.server  # type: ignore[assignment]
        server.secret_key = secret_key
        server.session_interface = _SessionInterface()
        server.config.update(
            SESSION_COOKIE_NAME="policykg_session",
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=https,
            PERMANENT_SESSION_LIFETIME=timedelta(hours=session_hours),
            MAX_CONTENT_LENGTH=4 * 1024 * 1024,
        )
        server.before_request(self._guard)
        server.after_request(self._headers)
        server.add_url_rule(LOGIN_PATH, "policykg_login", self._login, methods=["GET", "POST"])
        server.add_url_rule(LOGOUT_PATH, "policykg_logout", self._logout, methods=["POST"])
        server.add_url_rule(FAVICON_PATH, "policykg_favicon", lambda: ("", 204))
        # before_request hooks run in order: ours must come before any Dash adds later.
        funcs = server.before_request_funcs.setdefault(None, [])
        funcs.remove(self._guard)
        funcs.insert(0, self._guard)

    def finalise(self, app: Dash) -> None:
        """Once every callback is registered: hash Dash's inline scripts into the CSP."""
        hashes = " ".join(app.csp_hashes())  # already quoted: 'sha256-…'
        self._csp = _CSP.format(hashes=hashes)

    def _guard(self) -> Any:
        path = flask.request.path
        if path in PUBLIC_PATHS:
            return None
        user = self.session_user()
        if user is None:
            if path.startswith(_API_PREFIXES) or flask.request.method not in ("GET", "HEAD"):
                return flask.jsonify(error="login required"), 401
            target = flask.request.full_path.rstrip("?")
            return flask.redirect(f"{LOGIN_PATH}?next={quote(target, safe='/')}", 302)
        flask.g.policykg_user = user
        if path == "/_dash-update-component":
            if not flask.request.is_json:
                return flask.jsonify(error="JSON required"), 415
            body = flask.request.get_json(silent=True) or {}
            gate = self._gates.get(str(body.get("output", "")))
            if gate and not self.allows(user, gate):
                return flask.jsonify(error="not allowed for your role or clearance"), 403
        return None

    def _headers(self, response: flask.Response) -> flask.Response:
        response.headers["Content-Security-Policy"] = self._csp
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not flask.request.path.startswith(("/assets/", "/_dash-component-suites/")):
            response.headers["Cache-Control"] = "no-store"
        return response

    # --- routes ------------------------------------------------------------------------------

    def _client(self) -> str:
        return flask.request.remote_addr or "unknown"

    def _login(self) -> Any:
        request = flask.request
        next_ = _safe_next(request.values.get("next"))
        if request.method in ("GET", "HEAD"):
            if self.session_user() is not None:
                return flask.redirect(next_)
            return _login_page(next_=next_)
        name = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        if not _csrf_ok():
            return _login_page("The form expired; please try again.", next_, name), 400
        keys = (f"ip:{self._client()}", f"user:{name.lower()}")
        if self.limiter.blocked(*keys):
            return _login_page("Too many failed attempts; wait a few minutes and try again.",
                               next_, name), 429
        try:
            user = self.store.authenticate(name, password)
        except (AccountError, OSError):
            return _login_page(ACCOUNTS_DOWN, next_, name), 503
        if user is None:
            self.limiter.fail(*keys)
            return _login_page("Wrong user name or password.", next_, name), 401
        self.limiter.reset(keys[1])
        self.forget(user.name)
        session = flask.session
        session.clear()  # a fresh session: no fixation
        session.permanent = True
        session.update(user=user.name, stamp=user.stamp, role=user.role,
                       clearance=user.clearance, csrf=secrets.token_urlsafe(32))
        return flask.redirect(next_)

    def _logout(self) -> Any:
        if not _csrf_ok():
            return flask.jsonify(error="bad CSRF token"), 400
        flask.session.clear()
        return flask.redirect(LOGIN_PATH)
