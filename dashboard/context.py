"""What every page needs, handed to its layout and callbacks by `dashboard.app.create_app`:
the reader, the ontology and the limits of a view. No globals, so several apps can live in
one process (the tests serve one per module)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.elements import EXPANSION_CAP, MAX_ELEMENTS
from graph.ontology import Ontology
from graph.reader import GraphReader


@dataclass(frozen=True, slots=True)
class AppContext:
    reader: GraphReader
    ontology: Ontology
    expansion_cap: int = EXPANSION_CAP
    max_elements: int = MAX_ELEMENTS
    max_path_length: int = 6
