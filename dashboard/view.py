"""The state of the explorer's view and its place in the URL's query string.

A view is what the graph shows (an entity and its neighbours, a lens, or the paths between
two entities), the expansions the user made on top of it, the filters and the layout. The
query string holds all of it, so a pasted link reopens the same view.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import parse_qs, urlencode

Layout = Literal["cose", "concentric", "breadthfirst"]
LAYOUTS: tuple[Layout, ...] = ("cose", "concentric", "breadthfirst")
MORE_SUFFIX = "|more"


@dataclass(frozen=True, slots=True)
class Expansion:
    """A click on a node: its neighbours (first page), or `more`: the rest of them."""

    node: str
    more: bool = False

    def encode(self) -> str:
        return self.node + (MORE_SUFFIX if self.more else "")

    @classmethod
    def decode(cls, text: str) -> Expansion:
        if text.endswith(MORE_SUFFIX):
            return cls(text[: -len(MORE_SUFFIX)], True)
        return cls(text)


@dataclass(frozen=True, slots=True)
class ViewState:
    entity: str | None = None
    lens: str | None = None
    source: str | None = None  # "how are these connected?": from ...
    target: str | None = None  # ... to
    fallback: bool = False  # paths may use co-occurrence (RELATED_TO) links
    expansions: tuple[Expansion, ...] = ()
    types: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    theme: str | None = None
    document: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    layout: Layout = "cose"

    @property
    def kind(self) -> Literal["entity", "lens", "path", "empty"]:
        if self.source and self.target:
            return "path"
        if self.lens:
            return "lens"
        if self.entity:
            return "entity"
        return "empty"

    def focus(self, **changes: object) -> ViewState:
        """A new subject (entity, lens or path): expansions are dropped, filters kept."""
        base = replace(self, entity=None, lens=None, source=None, target=None, expansions=())
        return replace(base, **changes)  # type: ignore[arg-type]

    def with_filters(self, **changes: object) -> ViewState:
        return replace(self, **changes)  # type: ignore[arg-type]

    def expanded(self, expansion: Expansion) -> ViewState:
        return replace(self, expansions=(*self.expansions, expansion))

    def without_expansions(self, count: int) -> ViewState:
        return replace(self, expansions=self.expansions[: len(self.expansions) - count])

    def content_key(self) -> str:
        """The query string without the layout: equal keys draw the same elements."""
        return replace(self, layout="cose").to_query()

    def to_query(self) -> str:
        """`?entity=...&expand=...`; empty values are left out; '' for the empty view."""
        pairs: list[tuple[str, str]] = []
        for name, value in (
            ("entity", self.entity), ("lens", self.lens), ("from", self.source),
            ("to", self.target),
        ):
            if value:
                pairs.append((name, value))
        if self.fallback:
            pairs.append(("fallback", "1"))
        pairs += [("expand", e.encode()) for e in self.expansions]
        pairs += [("type", t) for t in self.types]
        pairs += [("rel", r) for r in self.relations]
        for name, value in (
            ("theme", self.theme), ("doc", self.document), ("after", self.date_from),
            ("before", self.date_to),
        ):
            if value:
                pairs.append((name, value))
        if self.layout != "cose":
            pairs.append(("layout", self.layout))
        return "?" + urlencode(pairs) if pairs else ""

    @classmethod
    def from_query(cls, search: str | None) -> ViewState:
        """Parse a query string; unknown keys are ignored, bad values fall back to defaults."""
        params = parse_qs((search or "").lstrip("?"), keep_blank_values=False)

        def one(name: str) -> str | None:
            values = params.get(name)
            return values[-1].strip() or None if values else None

        layout = one("layout")
        return cls(
            entity=one("entity"),
            lens=one("lens"),
            source=one("from"),
            target=one("to"),
            fallback=one("fallback") in {"1", "true", "yes"},
            expansions=tuple(Expansion.decode(v) for v in params.get("expand", []) if v),
            types=tuple(params.get("type", [])),
            relations=tuple(params.get("rel", [])),
            theme=one("theme"),
            document=one("doc"),
            date_from=one("after"),
            date_to=one("before"),
            layout=layout if layout in LAYOUTS else "cose",  # type: ignore[arg-type]
        )
