"""The explorer page: search, the graph with its legend, filters, lenses, "how are these
connected?", exports, and the details panel with the evidence of what is selected.

The query string is the single source of the view: controls write it, `render_view` draws
from it. Clicks on the graph (expand, undo, collapse) update the graph in place with a Patch
and write the query string too, so a copied link reopens the same view.
"""

from __future__ import annotations

import time
from typing import Any

import dash_cytoscape as cyto
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import exports
from dashboard.compose import compose, transition
from dashboard.context import AppContext
from dashboard.elements import is_more, layout_options
from dashboard.panels import edge_details, node_details, placeholder
from dashboard.stylesheet import legend, stylesheet, swatch
from dashboard.view import LAYOUTS, Expansion, ViewState
from graph.reader import NodeRecord

PATH = "/"
LAYOUT_LABELS = {"cose": "force", "concentric": "concentric", "breadthfirst": "hierarchy"}
TITLE = "Explorer"
HINT = ("Search for an entity (acronym, alias or full name) or open a lens. Click a node to "
        "see its evidence and expand its neighbours; click a line to read why it is there.")


# --- layout ---------------------------------------------------------------------------------


def _option(ctx_: AppContext, node: NodeRecord, typed: str = "") -> dict[str, Any]:
    etype = ctx_.ontology.entity_types.get(node.type)
    label = html.Span(
        [
            swatch(etype.color if etype else "#94a3b8", etype.shape if etype else "ellipse", 11),
            html.Span(node.name, className="option-name"),
            html.Span(node.type, className="option-type"),
        ],
        className="option",
    )
    search = " ".join([node.name, *node.aliases, node.type, typed])
    return {"label": label, "value": node.key, "search": search}


def _section(title: str, *children: Any, open_: bool = True) -> html.Details:
    return html.Details([html.Summary(title), html.Div(children, className="section-body")],
                        open=open_, className="section")


def layout(app_ctx: AppContext, search: str | None = None) -> html.Div:
    onto, reader = app_ctx.ontology, app_ctx.reader
    state = ViewState.from_query(search)
    initial = [k for k in (state.entity, state.source, state.target) if k]
    known = {n.key: _option(app_ctx, n) for n in reader.nodes(initial)} if initial else {}
    documents = reader.documents()
    first, last = reader.date_range()
    theme_options: list[Any] = [{"label": t.label, "value": t.id} for t in onto.themes.values()]
    doc_options: list[Any] = [{"label": d.title or d.id[:12], "value": d.id} for d in documents]
    fallback_options: list[Any] = [{"label": " include co-occurrence links", "value": "yes"}]
    layout_names: list[Any] = [{"label": LAYOUT_LABELS[n], "value": n} for n in LAYOUTS]

    def box(id_: str, value: str | None, placeholder_: str) -> dcc.Dropdown:
        options: list[Any] = [known[value]] if value in known else []
        return dcc.Dropdown(
            id=id_, options=options, value=value,
            placeholder=placeholder_, searchable=True, clearable=True, className="search-box",
        )

    sidebar = html.Aside(
        [
            html.Label("Find an entity", htmlFor="search", className="label"),
            box("search", state.entity, "ENISA, NIS2, ransomware…"),
            _section(
                "Lenses",
                html.Div(
                    [
                        html.Button(theme.label, id={"type": "lens", "id": theme.id},
                                    className="lens" + (" active" if state.lens == theme.id
                                                        else ""), title=f"Lens: {theme.label}")
                        for theme in onto.themes.values()
                    ],
                    className="lens-list",
                ),
            ),
            _section(
                "Filters",
                html.Label("Entity types", className="label"),
                dcc.Checklist(id="type-filter", options=list(onto.entity_types),
                              value=list(state.types), className="checks", inline=True),
                html.Label("Relation types", className="label"),
                dcc.Dropdown(id="rel-filter", options=list(onto.relation_types),
                             value=list(state.relations), multi=True,
                             placeholder="All relations"),
                html.Label("Theme", className="label"),
                dcc.Dropdown(id="theme-filter",
                             options=theme_options,
                             value=state.theme, placeholder="Any theme"),
                html.Label("Document", className="label"),
                dcc.Dropdown(id="doc-filter",
                             options=doc_options,
                             value=state.document, placeholder="Any document"),
                html.Label("Documents dated", className="label"),
                html.Div(
                    [
                        dcc.Input(id="date-from", type="date",  # type: ignore[arg-type]
                                  value=state.date_from,
                                  min=first, max=last, debounce=True, className="date"),
                        html.Span("to", className="muted"),
                        dcc.Input(id="date-to", type="date",  # type: ignore[arg-type]
                                  value=state.date_to, min=first, max=last, debounce=True,
                                  className="date"),
                    ],
                    className="date-range",
                ),
                open_=bool(state.types or state.relations or state.theme or state.document
                           or state.date_from or state.date_to),
            ),
            _section(
                "How are these connected?",
                box("path-from", state.source, "From…"),
                box("path-to", state.target, "To…"),
                dcc.Checklist(id="path-fallback",
                              options=fallback_options,
                              value=["yes"] if state.fallback else [], className="checks"),
                html.Button("Find paths", id="path-go", className="primary"),
                open_=state.kind == "path",
            ),
            _section(
                "Export this view",
                html.Div(
                    [
                        html.Button("PNG", id="export-png"),
                        html.Button("SVG", id="export-svg"),
                        html.Button("Nodes CSV", id="export-nodes"),
                        html.Button("Edges CSV", id="export-edges"),
                        html.Button("Briefing pack", id="export-briefing", className="primary"),
                    ],
                    className="export-list",
                ),
                dcc.Download(id="download-nodes"),
                dcc.Download(id="download-edges"),
                dcc.Download(id="download-briefing"),
                dcc.Store(id="briefing-request"),
                open_=False,
            ),
        ],
        className="sidebar",
    )
    toolbar = html.Div(
        [
            html.Div(id="view-title", className="view-title"),
            html.Div(
                [
                    html.Button("Undo", id="undo", title="Undo the last expansion"),
                    html.Button("Collapse", id="collapse",
                                title="Collapse the expansion of the selected node"),
                    dcc.RadioItems(id="layout-choice",
                                   options=layout_names,
                                   value=state.layout, inline=True, className="layouts"),
                ],
                className="tools",
            ),
        ],
        className="toolbar",
    )
    canvas = html.Div(
        [
            cyto.Cytoscape(
                id="graph",
                elements=[],
                stylesheet=stylesheet(onto),
                layout=layout_options(state.layout),
                style={"width": "100%", "height": "100%"},
                minZoom=0.2,
                maxZoom=1.6,
                boxSelectionEnabled=False,
            ),
            legend(onto),
        ],
        className="canvas",
    )
    main = html.Main(
        [toolbar, canvas, html.Div(id="status", className="status", role="status")],
        className="main",
    )
    details = html.Section(
        [html.H2("Details"), html.Div(placeholder(HINT), id="details", className="details")],
        className="details-panel",
    )
    return html.Div([dcc.Store(id="view"), sidebar, main, details], className="explorer")


# --- callbacks ------------------------------------------------------------------------------


def register_callbacks(app: Dash, app_ctx: AppContext) -> None:
    reader, onto = app_ctx.reader, app_ctx.ontology

    def suggest(typed: str | None, value: str | None) -> list[dict[str, Any]]:
        if not typed:
            raise PreventUpdate
        found = reader.search(typed, limit=12)
        options = [_option(app_ctx, n, typed) for n in found]
        if value and value not in {n.key for n in found}:
            options += [_option(app_ctx, n) for n in reader.nodes([value])]
        return options

    for box in ("search", "path-from", "path-to"):
        app.callback(Output(box, "options"), Input(box, "search_value"), State(box, "value"),
                     prevent_initial_call=True)(suggest)

    def _go(current: str | None, state: ViewState) -> str:
        target = state.to_query()
        if target == (current or ""):
            raise PreventUpdate
        return target

    @app.callback(Output("url", "search", allow_duplicate=True), Input("search", "value"),
                  State("url", "search"), prevent_initial_call=True)
    def open_entity(key: str | None, search: str | None) -> str:
        state = ViewState.from_query(search)
        if not key or (state.kind == "entity" and key == state.entity):
            raise PreventUpdate  # the box echoing the view it was opened with
        return _go(search, state.focus(entity=key))

    @app.callback(Output("url", "search", allow_duplicate=True),
                  Input({"type": "lens", "id": ALL}, "n_clicks"), State("url", "search"),
                  prevent_initial_call=True)
    def open_lens(clicks: list[int | None], search: str | None) -> str:
        if not ctx.triggered_id or not any(clicks):
            raise PreventUpdate
        return _go(search, ViewState.from_query(search).focus(lens=ctx.triggered_id["id"]))

    @app.callback(Output("url", "search", allow_duplicate=True), Input("path-go", "n_clicks"),
                  State("path-from", "value"), State("path-to", "value"),
                  State("path-fallback", "value"), State("url", "search"),
                  prevent_initial_call=True)
    def open_paths(_: int | None, source: str | None, target: str | None,
                   fallback: list[str] | None, search: str | None) -> str:
        if not source or not target:
            raise PreventUpdate
        state = ViewState.from_query(search).focus(source=source, target=target,
                                                    fallback=bool(fallback))
        return _go(search, state)

    @app.callback(
        Output("url", "search", allow_duplicate=True),
        Input("type-filter", "value"), Input("rel-filter", "value"),
        Input("theme-filter", "value"), Input("doc-filter", "value"),
        Input("date-from", "value"), Input("date-to", "value"), Input("layout-choice", "value"),
        State("url", "search"), prevent_initial_call=True,
    )
    def apply_filters(types: list[str] | None, rels: list[str] | None, theme: str | None,
                      document: str | None, after: str | None, before: str | None,
                      layout_name: str | None, search: str | None) -> str:
        state = ViewState.from_query(search).with_filters(
            types=tuple(types or ()), relations=tuple(rels or ()), theme=theme or None,
            document=document or None, date_from=after or None, date_to=before or None,
            layout=layout_name if layout_name in LAYOUTS else "cose",
        )
        return _go(search, state)

    @app.callback(
        Output("graph", "elements"), Output("graph", "layout"), Output("view", "data"),
        Output("status", "children"), Output("view-title", "children"),
        Output("details", "children", allow_duplicate=True),
        Input("url", "search"), State("view", "data"),
        prevent_initial_call="initial_duplicate",
    )
    def render_view(search: str | None, stored: dict[str, Any] | None) -> tuple[Any, ...]:
        state = ViewState.from_query(search)
        stored = stored or {}
        if stored.get("key") == state.content_key():
            if stored.get("layout") == state.layout:
                raise PreventUpdate
            options = layout_options(state.layout, stored.get("seed"))
            return (no_update, options, {**stored, "layout": state.layout}, no_update,
                    no_update, no_update)
        view = compose(app_ctx, state)
        data = {"key": state.content_key(), "layout": state.layout, "seed": view.seed,
                "ids": [e["data"]["id"] for e in view.elements]}
        details: Any = no_update
        if view.seed:
            node = view.seed_node or reader.node(view.seed)  # compose has just read it
            details = node_details(onto, node, reader.quotes(view.seed)) if node else no_update
        elif state.kind == "empty":
            details = placeholder(HINT)
        return (view.elements, layout_options(state.layout, view.seed), data, view.status,
                view.title, details)

    def _apply(state: ViewState, stored: dict[str, Any], search: str | None) -> tuple[Any, ...]:
        view = compose(app_ctx, state)
        patch, ids = transition(stored.get("ids", []), view)
        data = {**stored, "key": view.state.content_key(), "ids": ids}
        return patch, data, view.state.to_query() or search or "", view.status

    patch_outputs = (
        Output("graph", "elements", allow_duplicate=True),
        Output("view", "data", allow_duplicate=True),
        Output("url", "search", allow_duplicate=True),
        Output("status", "children", allow_duplicate=True),
    )

    @app.callback(*patch_outputs, Input("graph", "tapNode"), State("view", "data"),
                  State("url", "search"), prevent_initial_call=True)
    def expand(tapped: dict[str, Any] | None, stored: dict[str, Any] | None,
               search: str | None) -> tuple[Any, ...]:
        if not tapped or not stored:
            raise PreventUpdate
        data = tapped.get("data", {})
        state = ViewState.from_query(search)
        if is_more(data.get("id", "")):
            expansion = Expansion(data["owner"], more=True)
        else:
            expansion = Expansion(data["id"])
            if data["id"] == stored.get("seed"):
                raise PreventUpdate
        if expansion in state.expansions:
            raise PreventUpdate
        return _apply(state.expanded(expansion), stored, search)

    @app.callback(*patch_outputs, Input("undo", "n_clicks"), State("view", "data"),
                  State("url", "search"), prevent_initial_call=True)
    def undo(_: int | None, stored: dict[str, Any] | None, search: str | None) -> tuple[Any, ...]:
        state = ViewState.from_query(search)
        if not stored or not state.expansions:
            raise PreventUpdate
        return _apply(state.without_expansions(1), stored, search)

    @app.callback(*patch_outputs, Input("collapse", "n_clicks"), State("graph", "tapNodeData"),
                  State("view", "data"), State("url", "search"), prevent_initial_call=True)
    def collapse(_: int | None, selected: dict[str, Any] | None, stored: dict[str, Any] | None,
                 search: str | None) -> tuple[Any, ...]:
        state = ViewState.from_query(search)
        if not stored or not selected or not state.expansions:
            raise PreventUpdate
        node = selected.get("owner") or selected.get("id")
        kept = tuple(e for e in state.expansions if e.node != node)
        if kept == state.expansions:
            raise PreventUpdate
        return _apply(ViewState.from_query(search).with_filters(expansions=kept), stored,
                      search)

    @app.callback(Output("details", "children"), Input("graph", "tapNode"),
                  Input("graph", "tapEdge"), prevent_initial_call=True)
    def show_details(node: dict[str, Any] | None, edge: dict[str, Any] | None) -> Any:
        if ctx.triggered_id != "graph":
            raise PreventUpdate
        prop = ctx.triggered[0]["prop_id"].split(".")[-1]
        if prop == "tapNode" and node:
            key = node["data"]["id"]
            if is_more(key):
                raise PreventUpdate
            record = reader.node(key)
            if record is None:
                return placeholder("This entity is no longer in the graph.")
            return node_details(onto, record, reader.quotes(key))
        if prop == "tapEdge" and edge:
            d = edge["data"]
            if "type" not in d:
                raise PreventUpdate
            relation = reader.relation(d["source"], d["type"], d["target"])
            if relation is None:
                return placeholder("This relation is no longer in the graph.")
            ends = {n.key: n for n in reader.nodes([relation.source, relation.target])}
            return edge_details(onto, relation, ends.get(relation.source),
                                ends.get(relation.target), reader.evidence(relation))
        raise PreventUpdate

    # --- exports ----------------------------------------------------------------------------

    @app.callback(Output("graph", "generateImage"), Input("export-png", "n_clicks"),
                  Input("export-svg", "n_clicks"), prevent_initial_call=True)
    def export_image(_png: int | None, _svg: int | None) -> dict[str, Any]:
        kind = "svg" if ctx.triggered_id == "export-svg" else "png"
        options = {"full": True, "scale": 2, "bg": "#ffffff"} if kind == "png" else {
            "full": True, "bg": "#ffffff"}
        return {"type": kind, "action": "download", "filename": "policykg-view",
                "options": options}

    @app.callback(Output("download-nodes", "data"), Input("export-nodes", "n_clicks"),
                  State("graph", "elements"), prevent_initial_call=True)
    def export_nodes(_: int | None, elements: list[dict[str, Any]] | None) -> dict[str, Any]:
        return dcc.send_string(exports.nodes_csv(elements or []), "policykg-nodes.csv",
                               type="text/csv")

    @app.callback(Output("download-edges", "data"), Input("export-edges", "n_clicks"),
                  State("graph", "elements"), prevent_initial_call=True)
    def export_edges(_: int | None, elements: list[dict[str, Any]] | None) -> dict[str, Any]:
        return dcc.send_string(exports.edges_csv(elements or []), "policykg-edges.csv",
                               type="text/csv")

    @app.callback(Output("graph", "generateImage", allow_duplicate=True),
                  Output("briefing-request", "data"), Input("export-briefing", "n_clicks"),
                  prevent_initial_call=True)
    def request_briefing(_: int | None) -> tuple[dict[str, Any], float]:
        # The picture is taken in the browser; the pack is built when it arrives.
        return ({"type": "png", "action": "store",
                 "options": {"full": True, "scale": 1.5, "bg": "#ffffff",
                             "output": "base64uri"}}, time.time())

    @app.callback(Output("download-briefing", "data"), Input("graph", "imageData"),
                  State("briefing-request", "data"), State("graph", "elements"),
                  State("url", "search"), State("view-title", "children"),
                  prevent_initial_call=True)
    def send_briefing(image: str | None, requested: float | None,
                      elements: list[dict[str, Any]] | None, search: str | None,
                      title: Any) -> dict[str, Any]:
        if not requested:
            raise PreventUpdate
        pack = exports.briefing(app_ctx, elements or [], image, title if isinstance(
            title, str) else "", search or "")
        return dcc.send_string(pack, "policykg-briefing.html", type="text/html")
