"""The `policykg` command line: each command parses its arguments and calls an importable
function; settings are read here, once, and the driver is opened here and passed in."""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from graph.settings import Settings, load_settings


class Context:
    """Lazily built settings and driver, shared by the commands of one invocation."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def driver(self):  # noqa: ANN201
        from neo4j.exceptions import AuthError, ServiceUnavailable

        driver = self.settings.driver()
        try:
            driver.verify_connectivity()
        except ServiceUnavailable as exc:
            driver.close()
            raise click.ClickException(
                f"Neo4j is not reachable at {self.settings.neo4j_uri} ({exc}). "
                "Start the local server with `policykg neo4j start`, or set NEO4J_URI."
            ) from exc
        except AuthError as exc:
            driver.close()
            raise click.ClickException(
                f"Neo4j at {self.settings.neo4j_uri} refused the credentials: {exc.message}. "
                "Check NEO4J_USER and NEO4J_PASSWORD (see .env)."
            ) from exc
        return driver


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """policykg: an interactive knowledge graph of cyber policy."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(Context)


# --- neo4j ----------------------------------------------------------------------------------


@main.group()
def neo4j() -> None:
    """The bundled local Neo4j 5.26 Community server."""


def _server_paths(settings: Settings):  # noqa: ANN202
    from graph.server import ServerPaths

    return ServerPaths(settings.policykg_home)


@neo4j.command("start")
@pass_ctx
def neo4j_start(ctx: Context) -> None:
    """Start the server (a no-op when it runs); returns once Bolt answers."""
    from graph.server import ServerError, start

    s = ctx.settings
    try:
        st = start(_server_paths(s), s.neo4j_uri, s.neo4j_password.get_secret_value())
    except ServerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Neo4j {st.version} {st.edition} running on bolt://{st.address} (pid {st.pid})")


@neo4j.command("stop")
@click.option("--wipe", is_flag=True, help="Also delete the data.")
@pass_ctx
def neo4j_stop(ctx: Context, wipe: bool) -> None:
    """Stop the server gracefully."""
    from graph.server import stop

    paths = _server_paths(ctx.settings)
    was_running = stop(paths, wipe=wipe)
    click.echo(("Neo4j stopped" if was_running else "Neo4j was not running")
               + (f"; data deleted ({paths.data})" if wipe else ""))


@neo4j.command("status")
@pass_ctx
def neo4j_status(ctx: Context) -> None:
    """Version, address, authentication and data path of the local server."""
    from graph.server import ServerError, status

    s = ctx.settings
    try:
        st = status(_server_paths(s), s.neo4j_uri, s.neo4j_password.get_secret_value())
    except ServerError as exc:
        raise click.ClickException(str(exc)) from exc
    if not st.running:
        click.echo(f"Neo4j is not running (bolt://{st.address}, data {st.data.resolve()})")
        sys.exit(3)
    click.echo(f"Neo4j {st.version or '?'} {st.edition or ''}".rstrip())
    click.echo(f"address: bolt://{st.address}")
    click.echo(f"auth: {'on' if st.auth else 'off'}")
    click.echo(f"data: {st.data.resolve()}")
    click.echo(f"pid: {st.pid}")


# --- ingest and extraction ------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--jobs", default=1, show_default=True, help="Extraction processes.")
@pass_ctx
def ingest(ctx: Context, paths: tuple[Path, ...], jobs: int) -> None:
    """Ingest files or folders (.txt .md .pdf .docx .html) into the graph."""
    from graph.ingestion import ingest as run_ingest
    from graph.ontology import default_ontology
    from graph.writer import GraphWriter
    from ingest.extract import Extractor
    from ingest.nlp import load_nlp

    s = ctx.settings
    onto = default_ontology()
    with ctx.driver() as driver:
        extractor = Extractor(onto, load_nlp(s.policykg_spacy_model))
        writer = GraphWriter(driver, onto, s.neo4j_database)
        report = run_ingest(
            paths, extractor, writer, default_tlp=s.policykg_default_tlp, jobs=jobs,
            on_error=lambda m: click.echo(f"error: {m}", err=True), progress=True,
        )
    click.echo(report.summary())
    if report.errors:
        sys.exit(1)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the contract's JSON.")
@pass_ctx
def extract(ctx: Context, path: Path, as_json: bool) -> None:
    """Extract entities and relations from one file, without a database."""
    from ingest.extract import Extractor, extraction_to_json
    from ingest.loaders import LoadError, load_document
    from ingest.nlp import load_nlp

    try:
        document = load_document(path, default_tlp=ctx.settings.policykg_default_tlp)
    except LoadError as exc:
        raise click.ClickException(str(exc)) from exc
    extraction = Extractor(nlp=load_nlp(ctx.settings.policykg_spacy_model)).extract(document)
    data = extraction_to_json(extraction)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    from tabulate import tabulate

    click.echo(f"{data['document']['title']}  ({data['document']['id'][:12]})")
    click.echo(tabulate(
        [[e["name"], e["type"], len(e["mentions"]), ", ".join(e.get("aliases", [])[:3])]
         for e in data["entities"]],
        headers=["entity", "type", "mentions", "aliases"]))
    click.echo()
    click.echo(tabulate(
        [[r["source"], r["type"], r["target"], len(r["evidence"])] for r in data["relations"]],
        headers=["source", "relation", "target", "evidence"]))


@main.command("eval")
@click.argument("gold", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--docs", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of the documents (default: the gold file's folder).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def eval_(ctx: Context, gold: Path, docs: Path | None, as_json: bool) -> None:
    """Score extraction against a gold file."""
    from ingest.evaluate import EvaluationError, evaluate
    from ingest.extract import Extractor
    from ingest.nlp import load_nlp

    try:
        scores = evaluate(gold, docs, Extractor(nlp=load_nlp(ctx.settings.policykg_spacy_model)))
    except EvaluationError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(scores))
        return
    from tabulate import tabulate

    rows = [[part, kind, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}"]
            for part in ("entities", "relations") for kind, v in scores[part].items()]
    click.echo(tabulate(rows, headers=["", "", "precision", "recall", "F1"]))
    click.echo(f"documents: {scores['documents']}")


# --- reading --------------------------------------------------------------------------------


def _parse_params(items: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not k=v", param_hint="--param")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def format_table(columns: list[str], rows: list[list[Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([dict(zip(columns, r, strict=True)) for r in rows],
                          ensure_ascii=False, default=str, indent=2)
    cells = [[json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict | list)
              else v for v in r] for r in rows]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        w.writerows(cells)
        return buf.getvalue().rstrip("\n")
    from tabulate import tabulate

    return tabulate(cells, headers=columns)


@main.command()
@click.argument("cypher")
@click.option("--param", "params", multiple=True, help="A parameter as k=v (v may be JSON).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@pass_ctx
def query(ctx: Context, cypher: str, params: tuple[str, ...], fmt: str) -> None:
    """Run read-only Cypher (writes are refused; time-out and row cap apply)."""
    from graph.console import QueryFailed, QueryRefused, run_read_only

    s = ctx.settings
    with ctx.driver() as driver:
        try:
            result = run_read_only(driver, cypher, _parse_params(params),
                                   timeout=s.policykg_query_timeout,
                                   row_cap=s.policykg_query_row_cap, database=s.neo4j_database)
        except (QueryRefused, QueryFailed) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(format_table(result.columns, result.rows, fmt))
    if result.truncated:
        click.echo(f"(stopped at the row cap of {s.policykg_query_row_cap})", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True)
@pass_ctx
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the Dash explorer."""
    from dashboard.app import create_app, serve as run
    from graph.ontology import default_ontology

    driver = ctx.driver()
    app = create_app(driver, default_ontology(), database=ctx.settings.neo4j_database)
    click.echo(f"policykg dashboard on http://{host}:{port}/")
    run(app, host=host, port=port)


if __name__ == "__main__":
    main()
