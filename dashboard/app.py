"""The Dash app: a shell (header, navigation, database banner, router) around the pages in
`dashboard/pages`, behind the login of `dashboard.auth`.

`create_app(driver, ontology, accounts=AccountStore(path))` builds it with the driver and the
account store passed in (nothing here reads the environment; without `accounts`, the store is
`home/users.json`); `serve(app)` runs it on the loopback address. The router follows the path only,
not the query string, so the explorer can keep its view in the query string and update it
without the page being rebuilt (Dash's own pages router rebuilds on every query change).

Every read goes through a `GraphReader` whose clearance is the logged-in user's, so what a page
shows is filtered by TLP. Pages that cannot be filtered (the Cypher console, analytics) open
only to analysts cleared for every marking in the graph; their callbacks are gated as well as
their layouts. When Neo4j is away, callbacks show a banner instead of failing, and a periodic
health check takes it down and redraws the page once the database answers again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import dash_cytoscape as cyto
from dash import Dash, Input, Output, State, dcc, html, no_update, set_props
from neo4j import Driver
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from dashboard.auth import (
    DB_DOWN,
    LOGOUT_PATH,
    Auth,
    Gate,
    csrf_token,
    current_clearance,
    current_user,
    load_secret_key,
)
from dashboard.context import AppContext
from dashboard.elements import EXPANSION_CAP, MAX_ELEMENTS
from dashboard.pages import accounts as accounts_page
from dashboard.pages import documents, explorer
from graph.accounts import AccountStore, markings_present
from graph.ontology import Ontology
from graph.reader import GraphReader

try:  # built by another engineer; the app runs without them if they do not import
    from dashboard.pages import analytics as analytics_page
    from dashboard.pages import console as console_page
except ImportError:  # pragma: no cover - only while those pages are being written
    analytics_page = console_page = None  # type: ignore[assignment]

VIEWER = Gate("viewer")
UNFILTERED = Gate("analyst", all_markings=True)  # reads the whole graph, whatever its TLP
ADMIN = Gate("admin")
HEALTH_SECONDS = 5
# How long a read may retry while the database is away before the banner shows.
READ_RETRY_SECONDS = 3.0

NAVIGATION: tuple[tuple[str, str, Gate], ...] = (
    ("Explorer", explorer.PATH, VIEWER),
    ("Documents", documents.LIST_PATH, VIEWER),
    *((("Console", console_page.PATH, UNFILTERED),) if console_page else ()),
    *((("Analytics", analytics_page.PATH, UNFILTERED),) if analytics_page else ()),
    ("Accounts", accounts_page.PATH, ADMIN),
)
UNAVAILABLE = (ServiceUnavailable, SessionExpired)


def _shell() -> html.Div:
    user = current_user()
    role = user.role if user else "viewer"
    links = [dcc.Link(label, href=href, className="nav-link")
             for label, href, gate in NAVIGATION
             if user is not None and user.can(gate.role)]
    account = html.Form(
        [
            html.Span(f"{user.name} · {role} · {user.clearance}" if user else "",
                      className="account-name", id="account-name"),
            dcc.Input(type="hidden", name="csrf", value=csrf_token() if user else ""),  # type: ignore[arg-type]
            html.Button("Log out", id="logout", type="submit", className="logout"),
        ],
        action=LOGOUT_PATH, method="POST", className="account",
    )
    return html.Div(
        [
            dcc.Location(id="url", refresh="callback-nav"),
            dcc.Interval(id="db-health", interval=HEALTH_SECONDS * 1000),
            dcc.Store(id="db-state", data="up"),
            html.Header(
                [
                    dcc.Link([html.Span("policy", className="brand-a"),
                              html.Span("kg", className="brand-b")], href="/",
                             className="brand"),
                    html.Span("European cyber policy knowledge graph", className="tagline"),
                    html.Nav(links, className="nav"),
                    account,
                ],
                className="header",
            ),
            html.Div(DB_DOWN, id="db-banner", className="db-banner", role="alert",
                     hidden=True),
            html.Div(id="page", className="page-container"),
        ],
        className="shell",
    )


def _refused(why: str) -> html.Div:
    return html.Div([html.H2("Not available to you"), html.P(why, id="refused"),
                     dcc.Link("Back to the explorer", href="/")], className="page")


def route(app_ctx: AppContext, pathname: str | None, search: str | None,
          allows: Callable[[Gate], bool] = lambda gate: False,
          store: AccountStore | None = None) -> Any:
    """The page for a path; gated pages answer with a refusal unless `allows` their gate."""
    path = pathname or "/"
    if path == explorer.PATH:
        return explorer.layout(app_ctx, search)
    if path == documents.LIST_PATH:
        return documents.list_layout(app_ctx)
    if path.startswith(documents.PATH_PREFIX):
        return documents.document_layout(app_ctx, unquote(path[len(documents.PATH_PREFIX):]))
    for module in (console_page, analytics_page):
        if module is not None and path == module.PATH:
            if not allows(UNFILTERED):
                return _refused(
                    "This page runs over the whole graph and cannot hide documents by TLP, "
                    "so it is open only to analysts cleared for every marking present in "
                    "the graph. Ask an administrator if you need it.")
            return module.layout(app_ctx, search)
    if path == accounts_page.PATH:
        if not allows(ADMIN) or store is None:
            return _refused("Accounts are managed by administrators.")
        return accounts_page.layout(store)
    return html.Div([html.H2("Page not found"), dcc.Link("Back to the explorer", href="/")],
                    className="page")


def _on_error(err: Exception) -> None:
    """Callbacks that meet an absent database show the banner instead of a trace."""
    if isinstance(err, UNAVAILABLE):
        set_props("db-banner", {"hidden": False})
        set_props("db-state", {"data": "down"})
        return None
    raise err


def create_app(
    driver: Driver,
    ontology: Ontology,
    database: str | None = None,
    *,
    expansion_cap: int = EXPANSION_CAP,
    max_elements: int = MAX_ELEMENTS,
    secret_key: bytes | None = None,
    home: Path = Path(".policykg"),
    https: bool = False,
    session_hours: float = 8.0,
    auth: Auth | None = None,
    accounts: AccountStore | None = None,
) -> Dash:
    """Build the dashboard around an open driver; every read goes through `GraphReader`,
    at the clearance of the user the request belongs to."""
    cyto.load_extra_layouts()  # brings the SVG exporter along with the extra layouts
    reader = GraphReader(driver, ontology, database, clearance=current_clearance,
                         retry_seconds=READ_RETRY_SECONDS)
    app_ctx = AppContext(reader, ontology, expansion_cap=expansion_cap,
                         max_elements=max_elements)
    if accounts is None:
        accounts = auth.store if auth is not None else AccountStore(home / "users.json")
    store = accounts
    auth = auth or Auth(store, markings=partial(markings_present, driver, database,
                                                retry_seconds=READ_RETRY_SECONDS))
    app = Dash(
        __name__,
        title="policykg",
        suppress_callback_exceptions=True,
        update_title=None,  # type: ignore[arg-type]  # None: keep the title while loading
        on_error=_on_error,
        serve_locally=True,
    )
    auth.install(app, secret_key=secret_key or load_secret_key(None, home), https=https,
                 session_hours=session_hours)
    app.layout = _shell  # a function: the navigation depends on who asks

    def allows(gate: Gate) -> bool:
        return auth.allows(current_user(), gate)

    @app.callback(Output("page", "children"), Input("url", "pathname"),
                  Input("db-state", "data"), State("url", "search"))
    def render_page(pathname: str | None, db_state: str | None, search: str | None) -> Any:
        if db_state == "down":
            return no_update
        return route(app_ctx, pathname, search, allows, store)

    @app.callback(Output("db-banner", "hidden"), Output("db-state", "data"),
                  Input("db-health", "n_intervals"), State("db-state", "data"),
                  prevent_initial_call=True)
    def health(_: int | None, state: str | None) -> tuple[bool, Any]:
        up = reader.reachable()
        new = "up" if up else "down"
        return up, (new if new != state else no_update)

    explorer.register_callbacks(app, app_ctx)
    documents.register_callbacks(app, app_ctx)
    for module in (console_page, analytics_page):
        if module is not None:
            register: Callable[[Dash, AppContext], None] = module.register_callbacks
            auth.gate_callbacks(app, partial(register, app, app_ctx), UNFILTERED)
    auth.gate_callbacks(app, lambda: accounts_page.register_callbacks(app, app_ctx, store),
                        ADMIN)
    auth.finalise(app)
    return app


def serve(app: Dash, host: str = "127.0.0.1", port: int = 8050, debug: bool = False) -> None:
    """Serve the app with waitress, a production WSGI server (Flask's own with `debug`).
    Logins protect every route, but there is no TLS here: reach it from elsewhere only through
    a TLS proxy."""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("the dashboard serves on the loopback address; put a TLS proxy "
                         "in front of it to reach it from elsewhere")
    if debug:
        app.run(host=host, port=port, debug=True, threaded=True)
        return
    from waitress import serve as serve_wsgi

    serve_wsgi(app.server, host=host, port=port, threads=16, ident="policykg")
