"""The documents pages: the list of ingested documents, and one document's text with every
extracted mention highlighted and linked to its entity, beside the entities this document
brought to the graph (those no earlier-ingested document mentions)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dash import Dash, dcc, html

from dashboard.context import AppContext
from dashboard.panels import citation, document_href, document_text, entity_href, type_badge

LIST_PATH = "/documents"
PATH_PREFIX = "/document/"


def list_layout(app_ctx: AppContext) -> html.Div:
    documents = app_ctx.reader.documents()
    rows = [
        html.Tr([
            html.Td(dcc.Link(d.title or d.id[:12], href=document_href(d.id))),
            html.Td(d.issuer or ""), html.Td(d.date or ""), html.Td(str(d.passages)),
            html.Td(html.A("source", href=d.source, target="_blank", rel="noopener")
                    if d.source else ""),
        ])
        for d in documents
    ]
    return html.Div(
        [
            html.H2(f"Documents ({len(documents)})"),
            html.Table(
                [html.Thead(html.Tr([html.Th(h) for h in
                                     ("Title", "Issuer", "Date", "Sentences", "Source")])),
                 html.Tbody(rows)],
                className="table",
            ) if rows else html.P("No document has been ingested yet.", className="muted"),
        ],
        className="page documents-page",
    )


def document_layout(app_ctx: AppContext, doc_id: str) -> html.Div:
    reader, onto = app_ctx.reader, app_ctx.ontology
    doc = reader.document(doc_id)
    if doc is None:
        return html.Div([html.H2("Document not found"),
                         dcc.Link("All documents", href=LIST_PATH)], className="page")
    mentions = reader.document_mentions(doc_id)
    new = reader.new_entities(doc_id)
    counts = Counter(m.type for m in mentions)
    brought = [
        html.Li([type_badge(onto, n.type), dcc.Link(n.name, href=entity_href(n.key))],
                className="new-entity")
        for n in new
    ]
    side = html.Aside(
        [
            html.H3(f"New to the graph ({len(new)})"),
            html.P("Entities that no earlier-ingested document mentioned.", className="muted"),
            html.Ul(brought, id="new-entities", className="new-list") if brought
            else html.P("Nothing new: every entity was already known.", className="muted"),
            html.H3("Mentions"),
            html.Ul([html.Li([type_badge(onto, t), f" {c}"]) for t, c in counts.most_common()],
                    className="new-list"),
        ],
        className="doc-side",
    )
    meta: list[Any] = [html.Div(citation(doc), className="cite")]
    if doc.source:
        meta.append(html.A(doc.source, href=doc.source, target="_blank", rel="noopener",
                           className="muted"))
    return html.Div(
        [
            dcc.Link("← All documents", href=LIST_PATH, className="back"),
            html.H2(doc.title or doc.id[:12]),
            html.Div(meta, className="doc-meta"),
            html.Div(
                [html.Article(document_text(doc.text.strip(), mentions), id="document-text",
                              className="doc-text"), side],
                className="doc-body",
            ),
        ],
        className="page document-page",
    )


def register_callbacks(app: Dash, app_ctx: AppContext) -> None:
    """The document pages are static; links do the navigation."""
    del app, app_ctx
