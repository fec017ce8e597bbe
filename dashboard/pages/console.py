"""The analysts' Cypher console page (`/console`): an editor with a highlighted preview,
parameters as JSON, a library of example queries (the question templates of
`graph.templates`, with parameter choices from the graph), results as a table and, when they
hold nodes or relationships, as a graph; CSV and JSON downloads; a history of the session.

Queries run through `graph.console.run_read_only` (read-only, time-out, row cap); Neo4j's
errors are shown as a message, never as a stack trace. Like the other pages it exposes
`PATH`, `layout(app_ctx, search)` and `register_callbacks(app, app_ctx)`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import dash_cytoscape as cyto
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html
from dash.dash_table.DataTable import DataTable
from dash.exceptions import PreventUpdate

from dashboard.context import AppContext
from graph.console import QueryFailed, QueryRefused, run_read_only
from graph.ontology import Ontology
from graph.templates import TemplateError, build_templates, param_choices

PATH = "/console"
HISTORY_SIZE = 20

QUERY_TIMEOUT = 15.0
ROW_CAP = 1000


# --- pure helpers ----------------------------------------------------------------------------

_KEYWORDS = frozenset({
    "MATCH", "OPTIONAL", "WHERE", "RETURN", "WITH", "UNWIND", "ORDER", "BY", "LIMIT",
    "SKIP", "DISTINCT", "AS", "AND", "OR", "NOT", "XOR", "IN", "IS", "NULL", "CASE", "WHEN",
    "THEN", "ELSE", "END", "CALL", "YIELD", "UNION", "ALL", "EXISTS", "COUNT", "COLLECT",
    "DESC", "ASC", "CONTAINS", "STARTS", "ENDS", "TRUE", "FALSE", "EXPLAIN", "PROFILE",
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE",
})
_TOKEN = re.compile(
    r"(?P<comment>//[^\n]*)|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<param>\$\w+)|(?P<label>(?<=[\w()\[\]]):\w+)"
    r"|(?P<number>\b\d+(?:\.\d+)?\b)|(?P<word>\b[A-Za-z_]\w*\b)"
)


def highlight(cypher: str) -> list[Any]:
    """The query as spans classed by token kind (keyword, string, parameter, label, number,
    comment), for the preview under the editor; no JavaScript and nothing fetched."""
    out: list[Any] = []
    pos = 0
    for m in _TOKEN.finditer(cypher or ""):
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "word":
            if text.upper() not in _KEYWORDS:
                continue
            kind = "keyword"
        if m.start() > pos:
            out.append(cypher[pos:m.start()])
        out.append(html.Span(text, className=f"cy-{kind}"))
        pos = m.end()
    if pos < len(cypher or ""):
        out.append(cypher[pos:])
    return out


def _is_node(v: Any) -> bool:
    return isinstance(v, dict) and "labels" in v and "id" in v


def _is_rel(v: Any) -> bool:
    return isinstance(v, dict) and {"id", "type", "start", "end"} <= set(v)


def graph_elements(rows: list[list[Any]]) -> list[dict[str, Any]]:
    """Cytoscape elements for every node, relationship and path in the result (values as
    `graph.console.to_plain` gives them); empty when the result holds none."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[str, dict[str, Any]] = {}

    def walk(v: Any) -> None:
        if _is_node(v):
            label = v.get("name") or v.get("title") or v.get("key") or v["id"]
            kind = next((lab for lab in v["labels"] if lab != "Entity"), "")
            nodes[v["id"]] = {"data": {"id": v["id"], "label": str(label)[:60], "type": kind,
                                       "key": v.get("key")}}
        elif _is_rel(v):
            edges[v["id"]] = {"data": {"id": v["id"], "source": v["start"], "target": v["end"],
                                       "label": v["type"]}}
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for row in rows:
        walk(row)
    for e in edges.values():  # a relationship returned without its nodes still gets ends
        for end in (e["data"]["source"], e["data"]["target"]):
            nodes.setdefault(end, {"data": {"id": end, "label": "", "type": ""}})
    return [*nodes.values(), *edges.values()]


def cell(v: Any) -> Any:
    """A table cell: scalars as they are, everything else as compact JSON."""
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return json.dumps(v, ensure_ascii=False, default=str)


def to_csv(columns: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows([[cell(v) for v in r] for r in rows])
    return buf.getvalue()


def stylesheet(onto: Ontology) -> list[dict[str, Any]]:
    """Node colours and shapes from the ontology, so the console draws like the explorer."""
    sheet: list[dict[str, Any]] = [
        {"selector": "node", "style": {"label": "data(label)", "font-size": 9,
                                       "background-color": "#94a3b8"}},
        {"selector": "edge", "style": {"label": "data(label)", "font-size": 7,
                                       "curve-style": "bezier", "target-arrow-shape": "triangle",
                                       "width": 1.5, "line-color": "#94a3b8"}},
    ]
    for t in onto.entity_types.values():
        sheet.append({"selector": f'node[type = "{t.name}"]',
                      "style": {"background-color": t.color, "shape": t.shape}})
    return sheet


# --- layout ----------------------------------------------------------------------------------


def layout(app_ctx: AppContext, search: str | None = None) -> html.Div:
    """The page; the library lists the question templates."""
    del search
    library: list[Any] = [{"label": t.question, "value": t.id}
                          for t in build_templates(app_ctx.ontology)]
    return html.Div(className="page console-page", children=[
        html.H2("Cypher console"),
        html.P("Read-only: writes are refused; a time-out and a row cap apply.",
               className="console-hint"),
        html.Div(className="console-library", children=[
            html.Label("Questions and examples", htmlFor="console-library"),
            dcc.Dropdown(id="console-library", options=library,
                         placeholder="Pick a question to load its query…"),
            html.Div(id="console-param-pickers"),
        ]),
        html.Label("Query", htmlFor="cypher-input"),
        dcc.Textarea(id="cypher-input", value="MATCH (n:Entity) RETURN n.name AS name, "
                     "n.type AS type LIMIT 25", spellCheck=False,
                     style={"width": "100%", "height": "9em", "fontFamily": "monospace"}),
        html.Pre(id="cypher-highlight", className="cypher-highlight"),
        html.Label("Parameters (JSON)", htmlFor="cypher-params"),
        dcc.Textarea(id="cypher-params", value="{}", spellCheck=False,
                     style={"width": "100%", "height": "4em", "fontFamily": "monospace"}),
        html.Div(className="console-actions", children=[
            html.Button("Run", id="cypher-run", n_clicks=0),
            html.Button("Download CSV", id="cypher-download-csv", n_clicks=0),
            html.Button("Download JSON", id="cypher-download-json", n_clicks=0),
            dcc.Dropdown(id="cypher-history", options=[], placeholder="History",
                         style={"minWidth": "20em"}),
        ]),
        dcc.Download(id="cypher-download"),
        dcc.Store(id="cypher-last"),
        dcc.Store(id="cypher-history-store", storage_type="session", data=[]),
        dcc.Loading(html.Div(id="cypher-results")),
    ])


# --- callbacks -------------------------------------------------------------------------------


def _message(text: str, kind: str = "error") -> html.Div:
    return html.Div(text, className=f"console-{kind}", role="alert" if kind == "error" else None)


def register_callbacks(app: Dash, app_ctx: AppContext, *, timeout: float = QUERY_TIMEOUT,
                       row_cap: int = ROW_CAP) -> None:
    """The console's callbacks, bound to this app's driver and limits."""
    driver, onto = app_ctx.reader.driver, app_ctx.ontology
    database = app_ctx.reader.database
    templates = {t.id: t for t in build_templates(onto)}

    @app.callback(Output("cypher-highlight", "children"), Input("cypher-input", "value"))
    def _preview(cypher: str | None) -> list[Any]:
        return highlight(cypher or "")

    @app.callback(
        Output("cypher-input", "value", allow_duplicate=True),
        Output("cypher-params", "value", allow_duplicate=True),
        Output("console-param-pickers", "children"),
        Input("console-library", "value"),
        prevent_initial_call=True,
    )
    def _load_template(template_id: str | None) -> tuple[Any, Any, Any]:
        if not template_id:
            raise PreventUpdate
        template = templates.get(template_id)
        if template is None:
            raise PreventUpdate
        pickers: list[Any] = []
        params: dict[str, Any] = {}
        for p in template.params:
            options: list[Any] = param_choices(driver, p, database=database)
            values = [o["value"] for o in options]
            chosen = p.example if p.example in values else (values[0] if values else None)
            params[p.name] = chosen
            pickers.append(html.Div(className="console-param", children=[
                html.Label(p.label),
                dcc.Dropdown(id={"type": "console-param", "name": p.name}, options=options,
                             value=chosen, clearable=False),
            ]))
        return template.text, json.dumps(params, ensure_ascii=False, indent=1), pickers

    @app.callback(
        Output("cypher-params", "value", allow_duplicate=True),
        Input({"type": "console-param", "name": ALL}, "value"),
        State({"type": "console-param", "name": ALL}, "id"),
        State("cypher-params", "value"),
        prevent_initial_call=True,
    )
    def _pick_param(values: list[Any], ids: list[dict[str, str]], current: str | None) -> str:
        try:
            params = json.loads(current or "{}")
        except json.JSONDecodeError:
            params = {}
        if not isinstance(params, dict):
            params = {}
        for pid, value in zip(ids, values, strict=True):
            params[pid["name"]] = value
        return json.dumps(params, ensure_ascii=False, indent=1)

    @app.callback(
        Output("cypher-results", "children"),
        Output("cypher-last", "data"),
        Output("cypher-history-store", "data"),
        Input("cypher-run", "n_clicks"),
        State("cypher-input", "value"),
        State("cypher-params", "value"),
        State("cypher-history-store", "data"),
        prevent_initial_call=True,
    )
    def _run(_: int, cypher: str | None, params_text: str | None,
             history: list[dict[str, str]] | None) -> tuple[Any, Any, Any]:
        history = list(history or [])
        try:
            params = json.loads(params_text or "{}")
            if not isinstance(params, dict):
                raise ValueError("parameters must be a JSON object")
        except (json.JSONDecodeError, ValueError) as exc:
            return _message(f"Parameters are not valid JSON: {exc}"), None, history
        try:
            result = run_read_only(driver, cypher or "", params, database=database,
                                   timeout=timeout, row_cap=row_cap)
        except (QueryRefused, QueryFailed, TemplateError) as exc:
            return _message(str(exc)), None, history
        entry = {"cypher": cypher or "", "params": params_text or "{}"}
        history = [entry, *[h for h in history if h != entry]][:HISTORY_SIZE]
        data: list[Any] = [{c: cell(v) for c, v in zip(result.columns, row, strict=True)}
                for row in result.rows]
        children: list[Any] = [html.Div(
            f"{len(result.rows)} rows" + (" (stopped at the row cap)" if result.truncated else ""),
            className="console-count")]
        elements = graph_elements(result.rows)
        if elements:
            children.append(cyto.Cytoscape(
                id="cypher-graph", elements=elements, layout={"name": "cose", "animate": False},
                stylesheet=stylesheet(onto), style={"width": "100%", "height": "420px"}))
        children.append(DataTable(
            id="cypher-table", data=data, columns=[{"name": c, "id": c} for c in result.columns],
            page_size=25, sort_action="native", style_table={"overflowX": "auto"},
            style_cell={"textAlign": "left", "whiteSpace": "normal", "maxWidth": "40em"}))
        last = {"columns": result.columns, "rows": result.rows}
        return children, last, history

    @app.callback(Output("cypher-history", "options"), Input("cypher-history-store", "data"))
    def _history_options(history: list[dict[str, str]] | None) -> list[dict[str, Any]]:
        return [{"label": " ".join(h["cypher"].split())[:90], "value": i}
                for i, h in enumerate(history or [])]

    @app.callback(
        Output("cypher-input", "value", allow_duplicate=True),
        Output("cypher-params", "value", allow_duplicate=True),
        Input("cypher-history", "value"),
        State("cypher-history-store", "data"),
        prevent_initial_call=True,
    )
    def _recall(index: int | None, history: list[dict[str, str]] | None) -> tuple[str, str]:
        if index is None or not history or index >= len(history):
            raise PreventUpdate
        return history[index]["cypher"], history[index]["params"]

    @app.callback(
        Output("cypher-download", "data"),
        Input("cypher-download-csv", "n_clicks"),
        Input("cypher-download-json", "n_clicks"),
        State("cypher-last", "data"),
        prevent_initial_call=True,
    )
    def _download(_csv: int, _json: int, last: dict[str, Any] | None) -> dict[str, Any]:
        if not last:
            raise PreventUpdate
        columns, rows = last["columns"], last["rows"]
        if ctx.triggered_id == "cypher-download-json":
            records = [dict(zip(columns, r, strict=True)) for r in rows]
            return dcc.send_string(json.dumps(records, ensure_ascii=False, indent=1, default=str),
                                   "policykg-query.json")
        return dcc.send_string(to_csv(columns, rows), "policykg-query.csv")
