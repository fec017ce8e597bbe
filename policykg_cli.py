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
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Extract on the Dask cluster whose scheduler is at ADDRESS "
                   "(e.g. tcp://10.0.0.5:8786); this process writes.")
@pass_ctx
def ingest(ctx: Context, paths: tuple[Path, ...], jobs: int, dask_address: str | None) -> None:
    """Ingest files or folders (.txt .md .pdf .docx .html) into the graph."""
    from graph.ingestion import ingest as run_ingest
    from graph.ontology import default_ontology
    from graph.writer import GraphWriter
    from ingest.extract import Extractor
    from ingest.nlp import load_nlp

    s = ctx.settings
    onto = default_ontology()
    with ctx.driver() as driver:
        if dask_address:
            from ingest.distributed import DaskExtractor

            extractor: Any = DaskExtractor(dask_address, model=s.policykg_spacy_model)
        else:
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
    from dashboard.app import create_app
    from dashboard.app import serve as run
    from graph.ontology import default_ontology

    driver = ctx.driver()
    s = ctx.settings
    from dashboard.auth import load_secret_key

    secret = s.policykg_secret_key.get_secret_value() if s.policykg_secret_key else None
    from graph.accounts import AccountStore

    app = create_app(driver, default_ontology(), database=s.neo4j_database,
                     accounts=AccountStore(s.users_file),
                     secret_key=load_secret_key(secret, s.policykg_home),
                     https=s.policykg_https, session_hours=s.policykg_session_hours)
    click.echo(f"policykg dashboard on http://{host}:{port}/")
    run(app, host=host, port=port)


# --- maintenance: remove, backup, restore -----------------------------------------------------


@main.command()
@click.argument("document")
@pass_ctx
def remove(ctx: Context, document: str) -> None:
    """Withdraw DOCUMENT (id, id prefix or path) and the facts that rested on it alone."""
    from graph.documents import find_documents
    from graph.ontology import default_ontology
    from graph.writer import GraphWriter

    s = ctx.settings
    with ctx.driver() as driver:
        found = find_documents(driver, document, s.neo4j_database)
        if not found:
            raise click.ClickException(f"no document with id, id prefix or path {document!r}")
        if len(found) > 1:
            listing = "\n".join(f"  {d.id[:16]}  {d.path}" for d in found)
            raise click.ClickException(f"{document!r} matches {len(found)} documents; "
                                       f"give more of the id:\n{listing}")
        doc = found[0]
        GraphWriter(driver, default_ontology(), s.neo4j_database).remove(doc.id)
    click.echo(f"removed {doc.id[:16]} ({doc.path})")


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def backup_cmd(ctx: Context, file: Path) -> None:
    """Write every node and relationship to FILE (JSON lines; gzip if FILE ends in .gz)."""
    from graph.backup import BackupError, backup

    with ctx.driver() as driver:
        try:
            stats = backup(driver, file, ctx.settings.neo4j_database)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"backed up {stats.nodes} nodes and {stats.relationships} relationships to {file}")


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Wipe a non-empty database first.")
@pass_ctx
def restore_cmd(ctx: Context, file: Path, force: bool) -> None:
    """Restore a backup FILE into an empty database."""
    from graph.backup import BackupError, restore
    from graph.ontology import default_ontology

    with ctx.driver() as driver:
        try:
            stats = restore(driver, default_ontology(), file,
                            database=ctx.settings.neo4j_database, force=force)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {stats.nodes} nodes and {stats.relationships} relationships from {file}")



# --- analytics, export, history, templates --------------------------------------------------

TLP_CHOICE = click.Choice(["CLEAR", "GREEN", "AMBER", "RED"])
CLEARANCE_HELP = ("Only what documents within this TLP clearance support, as a dashboard user "
                  "of that clearance sees it (default: everything).")


@main.command()
@click.argument("name", type=click.Choice(
    ["pagerank", "betweenness", "communities", "brokers", "duplicates", "gaps"]))
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.option("--with-cooccurrence", is_flag=True,
              help="Count co-occurrence (RELATED_TO) links as well as stated relations.")
@click.option("--clearance", type=TLP_CHOICE, help=CLEARANCE_HELP)
@pass_ctx
def analyse(ctx: Context, name: str, fmt: str, with_cooccurrence: bool,
            clearance: str | None) -> None:
    """Network analytics of the graph: rankings, communities, brokers, duplicates, gaps."""
    from graph.analytics import run_analysis
    from graph.export import clearance_note
    from graph.ontology import default_ontology

    with ctx.driver() as driver:
        table = run_analysis(driver, default_ontology(), name,
                             database=ctx.settings.neo4j_database,
                             include_fallback=with_cooccurrence, clearance=clearance)
    columns = table.columns if fmt == "table" else [*table.columns, *table.links]
    click.echo(format_table(columns, [[r.get(c) for c in columns] for r in table.rows], fmt))
    if table.note and fmt == "table":
        click.echo(f"({table.note})", err=True)
    if clearance is not None:
        click.echo(f"({clearance_note(clearance)})", err=True)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["graphml", "csv", "json"]), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (CSV: FILE.zip, or FILE as nodes and FILE-edges beside it).")
@click.option("--type", "types", multiple=True, help="Keep entities of this type (repeatable).")
@click.option("--relation", "relations", multiple=True,
              help="Keep relations of this type (repeatable).")
@click.option("--document", help="Keep what this document (id) mentions and supports.")
@click.option("--clearance", type=TLP_CHOICE, help=CLEARANCE_HELP)
@pass_ctx
def export(ctx: Context, fmt: str, output: Path | None, types: tuple[str, ...],
           relations: tuple[str, ...], document: str | None, clearance: str | None) -> None:
    """Export the graph, or a filtered part, as GraphML, CSV or JSON; with --clearance, for
    an audience of that TLP clearance (recorded in the GraphML, the JSON and the CSV zip)."""
    from graph.export import (
        ExportFilter,
        clearance_note,
        load_export,
        render,
        to_csv,
        to_csv_zip,
    )
    from graph.ontology import default_ontology

    flt = ExportFilter(tuple(types), tuple(relations), document)
    with ctx.driver() as driver:
        try:
            data = load_export(driver, default_ontology(), flt,
                               database=ctx.settings.neo4j_database, clearance=clearance)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    if clearance is not None:
        click.echo(f"({clearance_note(clearance)})", err=True)
    if output is None:
        click.echo(render(data, fmt), nl=False)  # type: ignore[arg-type]
        return
    if fmt == "csv" and output.suffix == ".zip":
        output.write_bytes(to_csv_zip(data))
    elif fmt == "csv":
        nodes, edges = to_csv(data)
        edges_path = output.with_name(f"{output.stem}-edges{output.suffix or '.csv'}")
        output.write_text(nodes, encoding="utf-8")
        edges_path.write_text(edges, encoding="utf-8")
    else:
        output.write_text(render(data, fmt), encoding="utf-8")  # type: ignore[arg-type]
    click.echo(f"exported {len(data.nodes)} entities and {len(data.edges)} relations to {output}",
               err=True)


@main.command()
@click.argument("run_id", required=False)
@click.option("--runs", "list_all", is_flag=True, help="List the ingest runs instead.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@pass_ctx
def diff(ctx: Context, run_id: str | None, list_all: bool, fmt: str) -> None:
    """What an ingest run (default: the last) added and retracted, against the graph before."""
    from graph.history import UnknownRun, list_runs, run_diff

    with ctx.driver() as driver:
        if list_all:
            runs = [r.summary() for r in list_runs(driver, ctx.settings.neo4j_database)]
            columns = ["run", "at", "documents", "failed", "entitiesAdded", "entitiesRetracted",
                       "relationsAdded", "relationsRetracted"]
            click.echo(format_table(columns, [[r[c] for c in columns] for r in runs], fmt))
            return
        try:
            result = run_diff(driver, run_id, ctx.settings.neo4j_database)
        except UnknownRun as exc:
            raise click.ClickException(str(exc)) from exc
    run = result.run
    if fmt == "table":
        click.echo(f"run {run.id} at {run.at}: {run.documents} documents"
                   + (f", after run {result.previous}" if result.previous else ", the first run"))
        if not run.recorded:
            click.echo("(this run was recorded before changes were kept)")
    click.echo(format_table(result.COLUMNS, result.matrix(), fmt))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
def templates(fmt: str) -> None:
    """The question templates (also the console's library of example queries)."""
    from graph.ontology import default_ontology
    from graph.templates import build_templates

    rows = [[t.id, t.question, t.theme or "",
             ", ".join(f"{p.name}: {p.kind}{'/' + '|'.join(p.types) if p.types else ''}"
                       for p in t.params)]
            for t in build_templates(default_ontology())]
    click.echo(format_table(["id", "question", "theme", "parameters"], rows, fmt))


# --- bench ------------------------------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the contract's JSON.")
@click.option("--scale", default=1_000_000, show_default=True,
              help="Relationships of the synthetic graph (up to 1,000,000).")
@click.option("--quick", is_flag=True, help="Small workloads, one run each (seconds, not minutes).")
@click.option("--corpus", "corpus", default=Path("corpus"), show_default=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Documents for the ingest and memory figures.")
@click.option("--jobs", default=2, show_default=True, help="Processes for the --jobs figure.")
@click.option("--wipe", is_flag=True,
              help="Run on the configured database even though it holds a graph (erases it).")
@pass_ctx
def bench(ctx: Context, as_json: bool, scale: int, quick: bool, corpus: Path, jobs: int,
          wipe: bool) -> None:
    """Run the benchmark suite; each figure is printed with the ratio it is judged by.

    The suite erases the database it runs on. An empty configured database is used as it is;
    when it holds a graph, or when no server answers at a local NEO4J_URI, a scratch local
    Neo4j is started for the run (and deleted after); with --wipe, the configured database is
    used and erased.
    """
    from neo4j.exceptions import ServiceUnavailable

    from graph.bench import BenchError, Options, is_local, report_json, run_suite, scratch_server
    from graph.ontology import default_ontology

    s = ctx.settings
    if not 1_000 <= scale <= 1_000_000:
        raise click.BadParameter("between 1,000 and 1,000,000", param_hint="--scale")
    say = (lambda m: click.echo(m, err=True)) if as_json else click.echo
    try:
        with ctx.driver() as configured:
            records, _, _ = configured.execute_query(
                "MATCH (n) RETURN count(n) > 0 AS used LIMIT 1", database_=s.neo4j_database)
            in_place = wipe or not records[0]["used"]
        if not in_place:
            say("the configured database holds a graph: the suite starts its own")
    except click.ClickException as exc:
        if not (isinstance(exc.__cause__, ServiceUnavailable) and is_local(s)):
            raise
        say(f"no Neo4j answers at {s.neo4j_uri}: the suite starts its own")
        in_place = False
    try:
        with scratch_server(s, use_configured=in_place, progress=say) as (driver, env, database):
            options = Options(corpus=corpus, scale=scale, quick=quick, jobs=jobs,
                              model=s.policykg_spacy_model, database=database, env=env,
                              small_home=s.policykg_home / "bench-small" if is_local(s) else None)
            report = run_suite(driver, default_ontology(), options, progress=say)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report_json(report) if as_json else report.text())


# --- accounts -------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Accounts for the dashboard (passwords are read from standard input)."""


def _read_password(confirm: bool = True) -> str:
    """The password from standard input: prompted twice on a terminal, else its first line."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return sys.stdin.readline().rstrip("\r\n")


def _store(ctx: Context):  # noqa: ANN202
    """The accounts file (no Neo4j connection needed: accounts are not in the graph)."""
    from graph.accounts import AccountStore

    return AccountStore(ctx.settings.users_file)


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "analyst", "steward", "admin"]),
              default="viewer", show_default=True)
@click.option("--clearance", type=click.Choice(["CLEAR", "GREEN", "AMBER", "RED"]),
              default="CLEAR", show_default=True, help="The highest TLP marking she may read.")
@pass_ctx
def users_add(ctx: Context, name: str, role: str, clearance: str) -> None:
    """Create an account; the password is read from standard input."""
    from graph.accounts import AccountError

    password = _read_password()
    try:
        user = _store(ctx).add(name, password, role=role, clearance=clearance)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {user.name} added ({user.role}, cleared {user.clearance})")


@users.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@pass_ctx
def users_list(ctx: Context, fmt: str) -> None:
    """The accounts, with role, clearance and creation time (never the hashes)."""
    from graph.accounts import AccountError

    try:
        accounts = _store(ctx).list()
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = [[u.name, u.role, u.clearance, u.created or ""] for u in accounts]
    click.echo(format_table(["name", "role", "clearance", "created"], rows, fmt))


@users.command("remove")
@click.argument("name")
@pass_ctx
def users_remove(ctx: Context, name: str) -> None:
    """Delete an account; its sessions end within seconds."""
    from graph.accounts import AccountError

    try:
        removed = _store(ctx).remove(name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    if not removed:
        raise click.ClickException(f"no user named {name!r}")
    click.echo(f"user {name} removed")


@users.command("passwd")
@click.argument("name")
@pass_ctx
def users_passwd(ctx: Context, name: str) -> None:
    """Set a new password (read from standard input); open sessions of the account end."""
    from graph.accounts import AccountError

    try:
        changed = _store(ctx).set_password(name, _read_password())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    if not changed:
        raise click.ClickException(f"no user named {name!r}")
    click.echo(f"password of {name} changed")


@users.command("ensure-admin")
@click.option("--name", default="admin", show_default=True)
@pass_ctx
def users_ensure_admin(ctx: Context, name: str) -> None:
    """When no account exists yet, create an admin (cleared RED) with a random password and
    print it once; otherwise do nothing."""
    from graph.accounts import AccountError

    try:
        password = _store(ctx).ensure_admin(name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    if password is None:
        click.echo("accounts exist already; nothing to do")
        return
    click.echo(f"created the dashboard account {name!r} (admin, cleared RED).")
    click.echo(f"its password, shown only now: {password}")
    click.echo(f"change it with: policykg users passwd {name}")


if __name__ == "__main__":
    main()
