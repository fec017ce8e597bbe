"""Pure builders for the details panel and the document page: records to Dash components,
with the words that carry a mention or a relation marked (`<mark>`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from dash import dcc, html

from dashboard.stylesheet import swatch
from graph.ontology import Ontology
from graph.reader import DocumentRecord, EdgeRecord, MentionSpan, NodeRecord, Quote

Segment = tuple[str, bool]


def segments(text: str, marks: Sequence[tuple[int, int]]) -> list[Segment]:
    """Split `text` into (piece, marked) runs; marks are clipped to the text and merged."""
    spans: list[tuple[int, int]] = []
    for start, end in sorted(marks):
        start, end = max(0, start), min(len(text), end)
        if end <= start:
            continue
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    out: list[Segment] = []
    at = 0
    for start, end in spans:
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return out


def highlighted(text: str, marks: Sequence[tuple[int, int]]) -> list[Any]:
    return [html.Mark(piece) if marked else piece for piece, marked in segments(text, marks)]


def entity_href(key: str) -> str:
    return "/?entity=" + quote(key, safe="")


def document_href(doc_id: str) -> str:
    return "/document/" + quote(doc_id, safe="")


def citation(q: Quote | DocumentRecord, page: int | None = None) -> list[Any]:
    """Title (linked to the document page), issuer, date, page."""
    doc_id = q.doc_id if isinstance(q, Quote) else q.id
    parts: list[Any] = [dcc.Link(q.title or "Untitled document", href=document_href(doc_id),
                                 className="cite-title")]
    extra = [x for x in (q.issuer, q.date) if x]
    if page:
        extra.append(f"p. {page}")
    if extra:
        parts.append(html.Span(" · " + " · ".join(extra), className="cite-meta"))
    return parts


def quote_list(quotes: Sequence[Quote], empty: str) -> html.Ul | html.P:
    if not quotes:
        return html.P(empty, className="muted")
    return html.Ul(
        [
            html.Li(
                [
                    html.Blockquote(highlighted(q.text, q.marks), className="quote"),
                    html.Div(citation(q, q.page), className="cite"),
                ],
                className="evidence",
            )
            for q in quotes
        ],
        className="evidence-list",
    )


def type_badge(onto: Ontology, type_name: str) -> html.Span:
    etype = onto.entity_types.get(type_name)
    color = etype.color if etype else "#94a3b8"
    shape = etype.shape if etype else "ellipse"
    return html.Span([swatch(color, shape, 12), html.Span(type_name)], className="type-badge")


def node_details(onto: Ontology, node: NodeRecord, quotes: Sequence[Quote]) -> html.Div:
    facts: list[Any] = [html.Dt("Type"), html.Dd(type_badge(onto, node.type))]
    for facet, value in node.facets.items():
        facts += [html.Dt(facet.capitalize()), html.Dd(value)]
    if node.aliases:
        facts += [html.Dt("Also called"), html.Dd(", ".join(node.aliases))]
    facts += [html.Dt("Relations"), html.Dd(str(node.degree)),
              html.Dt("Mentions"), html.Dd(str(node.mentions))]
    if node.wikidata:
        facts += [html.Dt("Wikidata"), html.Dd(html.A(
            node.wikidata, href=f"https://www.wikidata.org/wiki/{node.wikidata}",
            target="_blank", rel="noopener"))]
    return html.Div(
        [
            html.H3(node.name, className="details-title"),
            html.Dl(facts, className="facts"),
            html.H4(f"Sentences that mention it ({len(quotes)})"),
            quote_list(quotes, "No sentence mentions it."),
        ],
        className="details-node",
    )


def edge_details(
    onto: Ontology,
    edge: EdgeRecord,
    source: NodeRecord | None,
    target: NodeRecord | None,
    quotes: Sequence[Quote],
) -> html.Div:
    rtype = onto.relation_types.get(edge.type)
    color = rtype.color if rtype else "#94a3b8"

    def end(node: NodeRecord | None, key: str) -> Any:
        name = node.name if node else key
        return dcc.Link(name, href=entity_href(key), className="edge-end")

    facts: list[Any] = [
        html.Dt("Relation"),
        html.Dd(html.Span(edge.type, className="rel-badge", style={"borderColor": color,
                                                                     "color": color})),
        html.Dt("From"), html.Dd(end(source, edge.source)),
        html.Dt("To"), html.Dd(end(target, edge.target)),
        html.Dt("Documents"), html.Dd(str(len(edge.documents))),
    ]
    title = (f"{source.name if source else edge.source} — "
             f"{edge.type.lower().replace('_', ' ')} — {target.name if target else edge.target}")
    return html.Div(
        [
            html.H3(title, className="details-title"),
            html.Dl(facts, className="facts"),
            html.H4(f"Evidence ({len(quotes)})"),
            quote_list(quotes, "No evidence sentence is stored for this relation."),
        ],
        className="details-edge",
    )


def placeholder(text: str) -> html.Div:
    return html.Div(html.P(text, className="muted"), className="details-empty")


def document_text(text: str, mentions: Sequence[MentionSpan]) -> list[Any]:
    """The document's text with every mention marked and linked to its entity; overlapping
    mentions keep the first (longest) one."""
    out: list[Any] = []
    at = 0
    for m in sorted(mentions, key=lambda m: (m.start, -m.end)):
        if m.start < at or m.end > len(text) or m.end <= m.start:
            continue
        if m.start > at:
            out.append(text[at:m.start])
        out.append(dcc.Link(
            html.Mark(text[m.start:m.end], className=f"mention mention-{m.type}"),
            href=entity_href(m.key), title=f"{m.name} ({m.type})", className="mention-link",
        ))
        at = m.end
    out.append(text[at:])
    return out
