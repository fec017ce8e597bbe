"""Composes a view: asks the reader for what a `ViewState` shows and lays it out as elements
within the element budget. The callbacks call this; it holds no Dash and no Cypher."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from dash import Patch

from dashboard.context import AppContext
from dashboard.elements import Element, ElementBudget, more_id
from dashboard.view import Expansion, ViewState
from graph.reader import EdgeRecord, Filters, NodeRecord


@dataclass
class ComposedView:
    elements: list[Element]
    budget: ElementBudget
    state: ViewState  # with the expansions that could be applied
    title: str = ""
    notes: list[str] = field(default_factory=list)
    seed: str | None = None
    seed_node: NodeRecord | None = None  # the seed's record, as read for this view

    @property
    def status(self) -> str:
        return " · ".join([self.budget.describe(), *self.notes])


def filters_of(state: ViewState) -> Filters:
    return Filters(
        types=state.types, relations=state.relations, theme=state.theme,
        document=state.document, date_from=state.date_from, date_to=state.date_to,
    )


def _keep(state: ViewState, nodes: list[NodeRecord], edges: list[EdgeRecord],
          seeds: set[str]) -> tuple[list[NodeRecord], list[EdgeRecord]]:
    """Type, relation and document filters applied to a lens or a set of paths."""
    if state.types:
        nodes = [n for n in nodes if n.type in state.types or n.key in seeds]
    if state.relations:
        edges = [e for e in edges if e.type in state.relations]
    if state.document:
        edges = [e for e in edges if state.document in e.documents]
    return nodes, edges


def compose(ctx: AppContext, state: ViewState) -> ComposedView:
    reader, cap = ctx.reader, ctx.expansion_cap
    budget = ElementBudget(limit=ctx.max_elements)
    view = ComposedView([], budget, state)
    filters = filters_of(state)

    def expand(exp: Expansion) -> bool:
        if not budget.has(exp.node):
            return False
        if exp.more:
            if not budget.has(more_id(exp.node)):
                return False
            gone = {more_id(exp.node), more_id(exp.node) + "|edge"}
            budget.remove(gone)
            view.elements[:] = [e for e in view.elements if e["data"]["id"] not in gone]
            sub = reader.neighbours(exp.node, filters=filters, skip=cap,
                                    limit=max(1, budget.room), known=budget.node_keys)
            view.elements += budget.add_subgraph(sub)
            return True
        sub = reader.neighbours(exp.node, filters=filters, skip=0, limit=cap,
                                known=budget.node_keys)
        view.elements += budget.add_subgraph(sub)
        view.elements += budget.add_more(exp.node, sub.total - len(sub.nodes), sub.capped)
        return True

    if state.kind == "entity" and state.entity:
        node = reader.node(state.entity)
        if node is None:
            view.notes.append("entity not found")
            view.state = state.focus()
            return view
        view.seed, view.seed_node, view.title = node.key, node, node.name
        view.elements += budget.add([node], [], seeds=[node.key])
        expand(Expansion(node.key))
    elif state.kind == "lens" and state.lens:
        theme = ctx.ontology.themes.get(state.lens)
        if theme is None:
            view.notes.append(f"unknown lens {state.lens}")
            return view
        sub = reader.lens(state.lens)
        nodes, edges = _keep(state, list(sub.nodes), list(sub.edges), set())
        view.title = f"Lens: {theme.label}"
        view.elements += budget.add(nodes, edges)
        if not nodes:
            view.notes.append("this lens finds nothing in the graph yet")
    elif state.kind == "path" and state.source and state.target:
        paths = reader.paths(state.source, state.target, max_length=ctx.max_path_length,
                             include_fallback=state.fallback)
        ends = reader.nodes([state.source, state.target])
        names = {n.key: n.name for n in ends}
        view.title = (f"How are {names.get(state.source, state.source)} and "
                      f"{names.get(state.target, state.target)} connected?")
        keys = [k for p in paths for k in p.keys]
        nodes = reader.nodes([state.source, state.target, *keys])
        edges = list({e.id: e for p in paths for e in p.edges}.values())
        seeds = {state.source, state.target}
        nodes, edges = _keep(state, nodes, edges, seeds)
        view.elements += budget.add(nodes, edges, seeds=list(seeds))
        if paths:
            hops = len(paths[0].edges)
            view.notes.append(f"{len(paths)} shortest path{'s' if len(paths) > 1 else ''} "
                              f"of {hops} step{'s' if hops > 1 else ''}")
        else:
            view.notes.append(f"no path of up to {ctx.max_path_length} steps")
    applied = tuple(e for e in state.expansions if expand(e))
    view.state = replace(state, expansions=applied)
    return view


def transition(present: list[str], target: ComposedView) -> tuple[Patch | list[Element], list[str]]:
    """The update from the elements on screen to the target view. When the target only adds
    elements (an expansion), a Patch appends them in place. When something must go (undo,
    collapse, the "and N more" node giving way), the whole list is sent: Cytoscape writes its
    own element order back into the prop, so positions in it cannot be relied on for deletes.
    Returns the update and the ids on screen afterwards."""
    wanted = [e["data"]["id"] for e in target.elements]
    have = set(present)
    if have - set(wanted):
        return target.elements, wanted
    fresh = [e for e in target.elements if e["data"]["id"] not in have]
    patch = Patch()
    if fresh:
        patch.extend(fresh)
    return patch, [*present, *(e["data"]["id"] for e in fresh)]
