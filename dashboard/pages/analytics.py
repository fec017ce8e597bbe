"""The analytics page (`/analytics`): the network analytics of `graph.analytics` as tables
whose entities open in the explorer, computed in the background and cached until the graph
changes; the history of ingest runs with what each added and retracted; and the export of the
graph (GraphML, CSV, JSON), whole or filtered.

The scope is the whole graph, or the view given as `?keys=k1,k2,...` (entity keys), so the
explorer can link its current view here. Like the other pages it exposes `PATH`,
`layout(app_ctx, search)` and `register_callbacks(app, app_ctx)`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from dash import Dash, Input, Output, State, dcc, html
from dash.dash_table.DataTable import DataTable
from dash.exceptions import PreventUpdate

from dashboard.context import AppContext
from dashboard.pages.console import to_csv
from dashboard.panels import entity_href
from graph.analytics import ANALYSES, AnalysisTable, AnalyticsService
from graph.export import ExportFilter, load_export, to_csv_zip, to_graphml, to_json
from graph.history import UnknownRun, list_runs, run_diff

PATH = "/analytics"
TITLES = {
    "pagerank": "PageRank (central actors)",
    "betweenness": "Betweenness (actors on many shortest paths)",
    "communities": "Communities",
    "brokers": "Civil-military brokers",
    "duplicates": "Duplication candidates",
    "gaps": "Coverage gaps",
}


def view_keys(search: str | None) -> list[str] | None:
    """The entity keys of the view named in the query string, or None for the whole graph."""
    values = parse_qs((search or "").lstrip("?")).get("keys")
    if not values:
        return None
    keys = [k.strip() for v in values for k in v.split(",") if k.strip()]
    return keys or None


def table_component(table: AnalysisTable) -> list[Any]:
    """The analytic as a DataTable; entity names link to the explorer (markdown cells)."""
    label_to_key = {label: key for key, label in table.links.items()}
    columns: list[Any] = []
    for c in table.columns:
        spec: dict[str, Any] = {"name": c, "id": c}
        if c in label_to_key:
            spec["presentation"] = "markdown"
        columns.append(spec)
    data: list[Any] = []
    for row in table.rows:
        out: dict[str, Any] = {}
        for c in table.columns:
            v = row.get(c)
            if c in label_to_key and row.get(label_to_key[c]):
                out[c] = f"[{_md(str(v))}]({entity_href(row[label_to_key[c]])})"
            elif isinstance(v, list):
                out[c] = ", ".join(str(x) for x in v)
            else:
                out[c] = v
        data.append(out)
    children: list[Any] = []
    if table.note:
        children.append(html.P(table.note, className="muted"))
    if not data:
        children.append(html.P("Nothing found.", className="muted"))
    children.append(DataTable(
        id="analytics-table", data=data, columns=columns, page_size=25, sort_action="native",
        markdown_options={"link_target": "_self"}, style_table={"overflowX": "auto"},
        style_cell={"textAlign": "left", "whiteSpace": "normal", "maxWidth": "40em"}))
    return children


def _md(text: str) -> str:
    return text.replace("[", r"\[").replace("]", r"\]")


def layout(app_ctx: AppContext, search: str | None = None) -> html.Div:
    keys = view_keys(search)
    runs = list_runs(app_ctx.reader.driver, app_ctx.reader.database)
    run_options: list[Any] = [{"label": f"{r.at or '?'} · {r.documents} documents · {r.id[:8]}",
                    "value": r.id} for r in reversed(runs)]
    onto = app_ctx.ontology
    names: list[Any] = [{"label": TITLES[n], "value": n} for n in ANALYSES]
    scopes: list[Any] = [{"label": "Whole graph", "value": "graph"},
                         {"label": f"Current view ({len(keys or [])} entities)",
                          "value": "view", "disabled": not keys}]
    fallback: list[Any] = [{"label": "count co-occurrence links", "value": "on"}]
    formats: list[Any] = [{"label": "GraphML (Gephi, networkx)", "value": "graphml"},
                          {"label": "CSV (nodes.csv + edges.csv, zipped)", "value": "csv"},
                          {"label": "JSON", "value": "json"}]
    types: list[Any] = list(onto.entity_types)
    relations: list[Any] = list(onto.relation_types)
    return html.Div(className="page analytics-page", children=[
        html.H2("Analytics"),
        dcc.Store(id="analytics-view", data=keys),
        html.Div(className="analytics-controls", children=[
            dcc.Dropdown(id="analytics-name", value="pagerank", clearable=False,
                         options=names),
            dcc.RadioItems(id="analytics-scope", value="view" if keys else "graph", inline=True,
                           options=scopes),
            dcc.Checklist(id="analytics-fallback", value=[], inline=True, options=fallback),
            html.Button("Download table (CSV)", id="analytics-download-csv", n_clicks=0),
        ]),
        dcc.Interval(id="analytics-poll", interval=700, disabled=False),
        dcc.Download(id="analytics-download"),
        html.Div(id="analytics-status", className="muted"),
        html.Div(id="analytics-results"),
        html.H3("What changed"),
        dcc.Dropdown(id="history-run", options=run_options,
                     value=run_options[0]["value"] if run_options else None,
                     placeholder="No ingest run recorded yet"),
        html.Div(id="history-results"),
        html.H3("Export"),
        html.Div(className="graph-export-controls", children=[
            dcc.Dropdown(id="graph-export-format", value="graphml", clearable=False,
                         options=formats),
            dcc.Dropdown(id="graph-export-types", multi=True, placeholder="All entity types",
                         options=types),
            dcc.Dropdown(id="graph-export-relations", multi=True, placeholder="All relation types",
                         options=relations),
            html.Button("Export", id="graph-export-run", n_clicks=0),
        ]),
        dcc.Download(id="graph-export-download"),
    ])


def register_callbacks(app: Dash, app_ctx: AppContext) -> None:
    """Analytics run in the service's background thread; the page polls until the answer is
    there. One service per app, so its cache is shared by every visitor."""
    reader = app_ctx.reader
    service = AnalyticsService(reader.driver, app_ctx.ontology, reader.database)

    @app.callback(
        Output("analytics-results", "children"),
        Output("analytics-status", "children"),
        Output("analytics-poll", "disabled"),
        Input("analytics-name", "value"),
        Input("analytics-scope", "value"),
        Input("analytics-fallback", "value"),
        Input("analytics-poll", "n_intervals"),
        State("analytics-view", "data"),
    )
    def show(name: str, scope: str, fallback: list[str], _: int | None,
             keys: list[str] | None) -> tuple[Any, Any, bool]:
        chosen = keys if scope == "view" else None
        try:
            table = service.result(name, chosen, include_fallback=bool(fallback))
        except Exception as exc:  # noqa: BLE001 - shown to the analyst, not raised into Dash
            return [], html.Div(f"The analysis failed: {exc}", className="error",
                                role="alert"), True
        if table is None:
            return [], "Computing…", False
        return table_component(table), f"{table.title}: {len(table.rows)} rows", True

    @app.callback(
        Output("analytics-download", "data"),
        Input("analytics-download-csv", "n_clicks"),
        State("analytics-name", "value"),
        State("analytics-scope", "value"),
        State("analytics-fallback", "value"),
        State("analytics-view", "data"),
        prevent_initial_call=True,
    )
    def download(_: int, name: str, scope: str, fallback: list[str],
                 keys: list[str] | None) -> Any:
        table = service.result(name, keys if scope == "view" else None, bool(fallback))
        if table is None:
            raise PreventUpdate
        columns = [*table.columns, *table.links]
        return dcc.send_string(to_csv(columns, [[r.get(c) for c in columns] for r in table.rows]),
                               f"policykg-{name}.csv")

    @app.callback(Output("history-results", "children"), Input("history-run", "value"))
    def history(run_id: str | None) -> Any:
        if not run_id:
            return html.P("No ingest run recorded yet.", className="muted")
        try:
            diff = run_diff(reader.driver, run_id, reader.database)
        except UnknownRun as exc:
            return html.P(str(exc), className="muted")
        head = (f"{diff.run.documents} documents at {diff.run.at}; "
                + ("compared with the graph after run " + diff.previous[:8]
                   if diff.previous else "the first run"))
        if not diff.run.recorded:
            return html.P(head + " (recorded before changes were kept)", className="muted")
        data: list[Any] = [{"change": r.change, "kind": r.kind, "type": r.type,
                 "name": (f"[{_md(r.name)}]({entity_href(r.key)})"
                          if r.kind == "entity" and r.change == "added" else r.name)}
                for r in diff.rows]
        columns: list[Any] = [
            {"name": c, "id": c, **({"presentation": "markdown"} if c == "name" else {})}
            for c in ("change", "kind", "type", "name")]
        return [html.P(head, className="muted"), DataTable(
            id="history-table", data=data, page_size=20, sort_action="native", columns=columns,
            markdown_options={"link_target": "_self"},
            style_cell={"textAlign": "left"})]

    @app.callback(
        Output("graph-export-download", "data"),
        Input("graph-export-run", "n_clicks"),
        State("graph-export-format", "value"),
        State("graph-export-types", "value"),
        State("graph-export-relations", "value"),
        prevent_initial_call=True,
    )
    def export(_: int, fmt: str, types: list[str] | None, relations: list[str] | None) -> Any:
        flt = ExportFilter(tuple(types or ()), tuple(relations or ()))
        data = load_export(reader.driver, app_ctx.ontology, flt, database=reader.database)
        if fmt == "csv":
            return dcc.send_bytes(to_csv_zip(data), "policykg-graph.zip")
        if fmt == "json":
            return dcc.send_string(to_json(data), "policykg-graph.json")
        return dcc.send_string(to_graphml(data), "policykg-graph.graphml")
