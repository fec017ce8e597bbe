"""Exports of the current view: nodes and edges as CSV, and the briefing pack, one
self-contained HTML file (printable to PDF) with the picture, tables, evidence quotes and the
sources cited. The builders are pure; `briefing` gathers the evidence through the reader."""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dashboard.context import AppContext
from dashboard.elements import Element, split_elements
from graph.ontology import Ontology
from graph.reader import DocumentRecord, EdgeRecord, Quote

NODE_COLUMNS = ("key", "name", "type", "degree", "mentions", "sphere", "status", "kind")
EDGE_COLUMNS = ("source", "type", "target", "weight", "evidence")
MAX_BRIEFING_EDGES = 80
QUOTES_PER_EDGE = 3


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def nodes_csv(elements: Sequence[Element]) -> str:
    nodes, _ = split_elements(elements)
    rows = [
        [n["data"]["id"], n["data"].get("label", ""), *(n["data"].get(c, "")
                                                         for c in NODE_COLUMNS[2:])]
        for n in nodes
    ]
    return _csv(NODE_COLUMNS, rows)


def edges_csv(elements: Sequence[Element]) -> str:
    nodes, edges = split_elements(elements)
    names = {n["data"]["id"]: n["data"].get("label", n["data"]["id"]) for n in nodes}
    rows = [
        [names.get(e["data"]["source"], e["data"]["source"]), e["data"]["type"],
         names.get(e["data"]["target"], e["data"]["target"]), e["data"].get("weight", ""),
         e["data"].get("evidence", "")]
        for e in edges
    ]
    return _csv(("source", "type", "target", "weight", "evidence sentences"), rows)


@dataclass(frozen=True, slots=True)
class BriefingEdge:
    edge: EdgeRecord
    source_name: str
    target_name: str
    quotes: tuple[Quote, ...]


def svg_picture(onto: Ontology, elements: Sequence[Element], size: int = 640) -> str:
    """A plain drawing of the view (nodes on a circle), for when no screenshot came back."""
    nodes, edges = split_elements(elements)
    if not nodes:
        return ""
    centre, radius = size / 2, size / 2 - 90
    where: dict[str, tuple[float, float]] = {}
    for i, n in enumerate(nodes):
        angle = 2 * math.pi * i / len(nodes)
        where[n["data"]["id"]] = (centre + radius * math.cos(angle),
                                  centre + radius * math.sin(angle))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
             f'width="{size}" height="{size}" role="img" aria-label="graph of the view">']
    for e in edges:
        a, b = where.get(e["data"]["source"]), where.get(e["data"]["target"])
        if a and b:
            rtype = onto.relation_types.get(e["data"]["type"])
            color = rtype.color if rtype else "#94a3b8"
            parts.append(f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" '
                         f'y2="{b[1]:.1f}" stroke="{color}" stroke-width="1.5"/>')
    for n in nodes:
        x, y = where[n["data"]["id"]]
        etype = onto.entity_types.get(n["data"].get("type", ""))
        color = etype.color if etype else "#94a3b8"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{color}"/>')
        parts.append(f'<text x="{x:.1f}" y="{y + 22:.1f}" font-size="11" text-anchor="middle" '
                     f'font-family="sans-serif">{html.escape(n["data"].get("label", ""))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _marked(q: Quote) -> str:
    out, at = [], 0
    for start, end in q.marks:
        if start < at:
            continue
        out.append(html.escape(q.text[at:start]))
        out.append(f"<mark>{html.escape(q.text[start:end])}</mark>")
        at = end
    out.append(html.escape(q.text[at:]))
    return "".join(out)


def _cite(q: Quote | DocumentRecord) -> str:
    bits = [f"<cite>{html.escape(q.title or 'Untitled document')}</cite>"]
    bits += [html.escape(x) for x in (q.issuer, q.date) if x]
    page = q.page if isinstance(q, Quote) else None
    if page:
        bits.append(f"p. {page}")
    return ", ".join(bits)


_CSS = """
body{font-family:Inter,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2937;max-width:960px;
margin:2rem auto;padding:0 1.5rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;border-bottom:1px solid #e5e7eb;
padding-bottom:.2rem;margin-top:2rem}.meta{color:#64748b;font-size:.9rem}
figure{margin:1rem 0;text-align:center}figure img,figure svg{max-width:100%;height:auto;
border:1px solid #e5e7eb;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{border:1px solid #e5e7eb;
padding:.3rem .45rem;text-align:left;vertical-align:top}th{background:#f8fafc}
blockquote{margin:.4rem 0 .1rem;padding:.35rem .7rem;border-left:3px solid #cbd5e1;
background:#f8fafc}mark{background:#fde68a;padding:0 .1em}.cite{font-size:.8rem;
color:#64748b;margin-bottom:.6rem}.swatch{display:inline-block;width:.7rem;height:.7rem;
border-radius:50%;margin-right:.35rem;vertical-align:middle}
ol.sources li{margin-bottom:.35rem}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}
tr,blockquote{page-break-inside:avoid}}
"""


def briefing_html(
    onto: Ontology,
    title: str,
    elements: Sequence[Element],
    edges: Sequence[BriefingEdge],
    sources: Sequence[DocumentRecord],
    image: str | None,
    link: str = "",
    generated: datetime | None = None,
) -> str:
    """The briefing pack as one HTML string: no external resources, prints cleanly."""
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    nodes, _ = split_elements(elements)
    if image and image.startswith("data:image/"):
        picture = f'<img alt="graph of the view" src="{html.escape(image, quote=True)}">'
    else:
        picture = svg_picture(onto, elements)
    node_rows = []
    for n in sorted(nodes, key=lambda n: (n["data"].get("type", ""), n["data"].get("label", ""))):
        d = n["data"]
        etype = onto.entity_types.get(d.get("type", ""))
        color = etype.color if etype else "#94a3b8"
        facets = ", ".join(f"{k}: {d[k]}" for k in ("sphere", "status", "kind") if d.get(k))
        node_rows.append(
            f'<tr><td><span class="swatch" style="background:{color}"></span>'
            f"{html.escape(d.get('label', ''))}</td><td>{html.escape(d.get('type', ''))}</td>"
            f"<td>{html.escape(facets)}</td><td>{d.get('degree', '')}</td>"
            f"<td>{d.get('mentions', '')}</td></tr>"
        )
    edge_rows, quotes = [], []
    numbers = {s.id: i + 1 for i, s in enumerate(sources)}
    for b in edges:
        refs = sorted({numbers[q.doc_id] for q in b.quotes if q.doc_id in numbers})
        edge_rows.append(
            f"<tr><td>{html.escape(b.source_name)}</td><td>{html.escape(b.edge.type)}</td>"
            f"<td>{html.escape(b.target_name)}</td><td>{len(b.edge.evidence)}</td>"
            f"<td>{', '.join(f'[{r}]' for r in refs)}</td></tr>"
        )
        for q in b.quotes:
            quotes.append(
                f"<h3 style='font-size:.9rem;margin:.8rem 0 0'>{html.escape(b.source_name)} — "
                f"{html.escape(b.edge.type.lower().replace('_', ' '))} — "
                f"{html.escape(b.target_name)}</h3>"
                f"<blockquote>{_marked(q)}</blockquote>"
                f"<div class='cite'>[{numbers.get(q.doc_id, '?')}] {_cite(q)}</div>"
            )
    source_items = "".join(
        f"<li>{_cite(s)}"
        + (f', <a href="{html.escape(s.source, quote=True)}">{html.escape(s.source)}</a>'
           if s.source else "")
        + (f" (TLP:{html.escape(s.tlp)})" if s.tlp else "")
        + "</li>"
        for s in sources
    )
    link_html = f' · <a href="{html.escape(link, quote=True)}">open this view</a>' if link else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Briefing: {html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<header><h1>{html.escape(title)}</h1>
<div class="meta">policykg briefing pack · generated {when} · {len(nodes)} entities,
{len(edge_rows)} relations{link_html}</div></header>
<figure>{picture}</figure>
<h2>Entities</h2>
<table><thead><tr><th>Name</th><th>Type</th><th>Facets</th><th>Relations</th>
<th>Mentions</th></tr></thead><tbody>{''.join(node_rows)}</tbody></table>
<h2>Relations</h2>
<table><thead><tr><th>From</th><th>Relation</th><th>To</th><th>Evidence</th><th>Sources</th>
</tr></thead><tbody>{''.join(edge_rows)}</tbody></table>
<h2>Evidence</h2>
{''.join(quotes) or '<p>No evidence sentences for the relations in this view.</p>'}
<h2>Sources</h2>
<ol class="sources">{source_items}</ol>
</body></html>
"""


def briefing(
    app_ctx: AppContext, elements: Sequence[Element], image: str | None, title: str,
    search: str,
) -> str:
    """Gather evidence and sources for the relations on screen, then build the pack."""
    reader = app_ctx.reader
    nodes, edge_elements = split_elements(elements)
    names: Mapping[str, str] = {n["data"]["id"]: n["data"].get("label", "") for n in nodes}
    gathered: list[BriefingEdge] = []
    for e in edge_elements[:MAX_BRIEFING_EDGES]:
        d = e["data"]
        record = reader.relation(d["source"], d["type"], d["target"])
        if record is None:
            continue
        gathered.append(BriefingEdge(
            record, names.get(record.source, record.source),
            names.get(record.target, record.target),
            tuple(reader.evidence(record, limit=QUOTES_PER_EDGE)),
        ))
    cited = {q.doc_id for b in gathered for q in b.quotes}
    sources = [d for d in reader.documents() if d.id in cited]
    return briefing_html(app_ctx.ontology, title or "Current view", elements, gathered,
                         sources, image, link=search)
