"""The Dash app: a shell (header, navigation, router) around the pages in `dashboard/pages`.

`create_app(driver, ontology)` builds it with the driver passed in (nothing here reads the
environment); `serve(app)` runs it on the loopback address. The router follows the path only,
not the query string, so the explorer can keep its view in the query string and update it
without the page being rebuilt (Dash's own pages router rebuilds on every query change).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import dash_cytoscape as cyto
from dash import Dash, Input, Output, State, dcc, html
from neo4j import Driver

from dashboard.context import AppContext
from dashboard.elements import EXPANSION_CAP, MAX_ELEMENTS
from dashboard.pages import documents, explorer
from graph.ontology import Ontology
from graph.reader import GraphReader

NAVIGATION = (("Explorer", explorer.PATH), ("Documents", documents.LIST_PATH))


def _shell() -> html.Div:
    return html.Div(
        [
            dcc.Location(id="url", refresh="callback-nav"),
            html.Header(
                [
                    dcc.Link([html.Span("policy", className="brand-a"),
                              html.Span("kg", className="brand-b")], href="/",
                             className="brand"),
                    html.Span("European cyber policy knowledge graph", className="tagline"),
                    html.Nav([dcc.Link(label, href=href, className="nav-link")
                              for label, href in NAVIGATION], className="nav"),
                ],
                className="header",
            ),
            html.Div(id="page", className="page-container"),
        ],
        className="shell",
    )


def route(app_ctx: AppContext, pathname: str | None, search: str | None) -> Any:
    path = pathname or "/"
    if path == explorer.PATH:
        return explorer.layout(app_ctx, search)
    if path == documents.LIST_PATH:
        return documents.list_layout(app_ctx)
    if path.startswith(documents.PATH_PREFIX):
        return documents.document_layout(app_ctx, unquote(path[len(documents.PATH_PREFIX):]))
    return html.Div([html.H2("Page not found"), dcc.Link("Back to the explorer", href="/")],
                    className="page")


def create_app(
    driver: Driver,
    ontology: Ontology,
    database: str | None = None,
    *,
    expansion_cap: int = EXPANSION_CAP,
    max_elements: int = MAX_ELEMENTS,
) -> Dash:
    """Build the dashboard around an open driver; every read goes through `GraphReader`."""
    cyto.load_extra_layouts()  # brings the SVG exporter along with the extra layouts
    app_ctx = AppContext(GraphReader(driver, ontology, database), ontology,
                         expansion_cap=expansion_cap, max_elements=max_elements)
    app = Dash(
        __name__,
        title="policykg",
        suppress_callback_exceptions=True,
        update_title=None,  # type: ignore[arg-type]  # None: keep the title while loading
    )
    app.layout = _shell()

    @app.callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"))
    def render_page(pathname: str | None, search: str | None) -> Any:
        return route(app_ctx, pathname, search)

    explorer.register_callbacks(app, app_ctx)
    documents.register_callbacks(app, app_ctx)
    return app


def serve(app: Dash, host: str = "127.0.0.1", port: int = 8050, debug: bool = False) -> None:
    """Run the app with Flask's server on the loopback address (no login yet: never bind a
    public interface)."""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("the dashboard has no login yet; it serves on 127.0.0.1 only")
    app.run(host=host, port=port, debug=debug)
