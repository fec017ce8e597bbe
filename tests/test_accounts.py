"""Accounts: argon2id hashing, roles and clearances, the account store (a private JSON file
outside the graph, shared safely between processes), `policykg users` with the password on
standard input, and, against the real Neo4j, that the graph (its console, its wipes) no
longer holds or reaches any account."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from graph.accounts import (
    AccountError,
    AccountStore,
    User,
    allowed_markings,
    clearance_allows,
    cleared_for_everything,
    hash_password,
    markings_present,
    verify_password,
)

# --- pure ------------------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2id() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse batterY")
    assert not verify_password(None, "correct horse battery")
    assert not verify_password("not a hash", "correct horse battery")
    assert hash_password("correct horse battery") != hashed  # salted
    with pytest.raises(AccountError):
        hash_password("short")


def test_roles_are_ordered_and_clearances_follow_tlp() -> None:
    analyst = User("a", "analyst", "GREEN")
    assert analyst.can("viewer") and analyst.can("analyst")
    assert not analyst.can("steward") and not analyst.can("admin")
    assert allowed_markings("CLEAR") == ["CLEAR"]
    assert allowed_markings("AMBER") == ["CLEAR", "GREEN", "AMBER"]
    assert clearance_allows("GREEN", "GREEN") and not clearance_allows("GREEN", "AMBER")
    assert not clearance_allows("AMBER", None)  # unmarked counts as RED
    with pytest.raises(AccountError):
        allowed_markings("SECRET")


# --- the accounts file ------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> AccountStore:
    return AccountStore(tmp_path / "home" / "users.json")


def _stored(store: AccountStore) -> dict[str, Any]:
    return json.loads(store.path.read_text())["users"]


def test_store_adds_authenticates_changes_and_removes(store: AccountStore) -> None:
    assert store.list() == [] and store.get("alice") is None  # no file yet: no accounts
    user = store.add("alice", "alice-password-1", role="analyst", clearance="GREEN")
    assert (user.name, user.role, user.clearance) == ("alice", "analyst", "GREEN")
    stored = _stored(store)["alice"]
    assert stored["hash"].startswith("$argon2id$") and stored["created"]
    assert "alice-password-1" not in store.path.read_text()
    assert store.get("alice") == user and user.created == stored["created"]
    assert store.authenticate("alice", "alice-password-1") == user
    assert store.authenticate("alice", "wrong-password-1") is None
    assert store.authenticate("nobody", "alice-password-1") is None
    assert store.authenticate("bad name!", "alice-password-1") is None
    with pytest.raises(AccountError, match="already exists"):
        store.add("alice", "another-password", role="viewer")
    with pytest.raises(AccountError):
        store.add("bad name!", "alice-password-1")
    with pytest.raises(AccountError):
        store.add("bob", "bob-password-1", role="root")
    with pytest.raises(AccountError):
        store.add("bob", "bob-password-1", clearance="SECRET")
    with pytest.raises(AccountError, match="at least"):
        store.add("bob", "short")
    assert [u.name for u in store.list()] == ["alice"]  # nothing half-added
    assert store.set_password("alice", "alice-password-2")
    changed = store.get("alice")
    assert changed is not None and changed.stamp != user.stamp  # old sessions end
    assert store.authenticate("alice", "alice-password-1") is None
    assert store.authenticate("alice", "alice-password-2") is not None
    assert not store.set_password("nobody", "alice-password-2")
    store.add("aaron", "aaron-password-1")
    assert [u.name for u in store.list()] == ["aaron", "alice"]
    assert store.remove("alice") and not store.remove("alice")
    assert store.get("alice") is None and [u.name for u in store.list()] == ["aaron"]


def test_users_file_is_private_and_replaced_atomically(store: AccountStore) -> None:
    store.add("alice", "alice-password-1")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.lock_path.stat().st_mode) == 0o600
    inode = store.path.stat().st_ino
    store.set_password("alice", "alice-password-2")
    assert store.path.stat().st_ino != inode  # a new file swapped in, never edited in place
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    # no temporary file left behind
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["users.json",
                                                                    "users.json.lock"]


def test_an_existing_loose_file_is_rewritten_private(store: AccountStore) -> None:
    store.add("alice", "alice-password-1")
    os.chmod(store.path, 0o644)
    store.add("bob", "bob-password-11")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_other_stores_see_changes_on_disk(store: AccountStore) -> None:
    other = AccountStore(store.path)  # another process: the CLI, a second app worker
    assert other.get("alice") is None
    user = store.add("alice", "alice-password-1")
    assert other.get("alice") == user
    assert other.set_password("alice", "alice-password-2")
    assert store.authenticate("alice", "alice-password-2") is not None
    assert other.remove("alice") and store.get("alice") is None


def test_a_corrupt_file_fails_closed(store: AccountStore) -> None:
    store.add("alice", "alice-password-1")
    store.path.write_text("{not json")
    fresh = AccountStore(store.path)
    with pytest.raises(AccountError, match="not valid"):
        fresh.authenticate("alice", "alice-password-1")
    with pytest.raises(AccountError):
        fresh.add("bob", "bob-password-11")  # never overwritten with a partial view


def _add_many(path: str, prefix: str, count: int) -> None:
    accounts = AccountStore(Path(path))
    for i in range(count):
        accounts.add(f"{prefix}{i}", f"{prefix}-password-{i}")


def test_concurrent_adds_from_two_processes_lose_nothing(store: AccountStore) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_many, args=(str(store.path), prefix, 6))
             for prefix in ("p", "q")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    names = [u.name for u in store.list()]
    assert names == sorted([f"p{i}" for i in range(6)] + [f"q{i}" for i in range(6)])
    assert store.authenticate("q5", "q-password-5") is not None


def test_ensure_admin_only_when_no_account_exists(store: AccountStore) -> None:
    password = store.ensure_admin()
    assert password and len(password) >= 20
    admin = store.authenticate("admin", password)
    assert admin is not None and admin.role == "admin" and admin.clearance == "RED"
    assert store.ensure_admin() is None  # never a second time
    assert store.ensure_admin("other") is None and store.get("other") is None


@pytest.fixture
def cli_env(store: AccountStore, monkeypatch: pytest.MonkeyPatch) -> AccountStore:
    """The CLI on the test's users file, with no reachable Neo4j: `users` must not need it."""
    monkeypatch.setenv("POLICYKG_USERS_FILE", str(store.path))
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:9")
    return store


def test_cli_users_add_reads_the_password_from_stdin(cli_env: AccountStore) -> None:
    from policykg_cli import main

    store = cli_env
    runner = CliRunner()
    result = runner.invoke(main, ["users", "add", "carol", "--role", "steward",
                                  "--clearance", "AMBER"], input="carol-password-1\n")
    assert result.exit_code == 0, result.output
    assert "carol-password-1" not in result.output
    carol = store.authenticate("carol", "carol-password-1")
    assert carol is not None and (carol.role, carol.clearance) == ("steward", "AMBER")
    listed = runner.invoke(main, ["users", "list", "--format", "csv"])
    assert "carol,steward,AMBER" in listed.output and "argon2" not in listed.output
    weak = runner.invoke(main, ["users", "add", "dave"], input="short\n")
    assert weak.exit_code != 0 and "at least" in weak.output
    bad_role = runner.invoke(main, ["users", "add", "dave", "--role", "root"], input="x" * 12)
    assert bad_role.exit_code != 0
    passwd = runner.invoke(main, ["users", "passwd", "carol"], input="carol-password-2\n")
    assert passwd.exit_code == 0 and store.authenticate("carol", "carol-password-2")
    assert runner.invoke(main, ["users", "remove", "carol"]).exit_code == 0
    assert runner.invoke(main, ["users", "remove", "carol"]).exit_code != 0


def test_cli_ensure_admin_prints_the_password_once(cli_env: AccountStore) -> None:
    from policykg_cli import main

    store = cli_env
    runner = CliRunner()
    first = runner.invoke(main, ["users", "ensure-admin"])
    assert first.exit_code == 0, first.output
    password = first.output.split("shown only now: ")[1].split()[0]
    assert store.authenticate("admin", password) is not None
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    second = runner.invoke(main, ["users", "ensure-admin"])
    assert second.exit_code == 0 and "shown only now" not in second.output


def test_users_file_setting_defaults_to_the_home(tmp_path: Path) -> None:
    from graph.settings import load_settings

    assert load_settings(policykg_home=tmp_path).users_file == tmp_path / "users.json"
    custom = tmp_path / "elsewhere.json"
    assert load_settings(policykg_home=tmp_path,
                         policykg_users_file=custom).users_file == custom


# --- the graph no longer holds accounts (real Neo4j) --------------------------------------------


def test_console_cannot_see_any_account(neo4j_driver: Any, store: AccountStore) -> None:
    from graph.console import run_read_only

    store.add("alice", "alice-password-1", role="admin", clearance="RED")
    store.ensure_admin()
    result = run_read_only(neo4j_driver, "MATCH (u:User) RETURN count(u) AS n")
    assert result.rows == [[0]]
    result = run_read_only(neo4j_driver, "MATCH (n) WHERE n.hash IS NOT NULL "
                                         "RETURN count(n) AS n")
    assert result.rows == [[0]]


def test_wiping_the_graph_keeps_the_accounts(neo4j_driver: Any, store: AccountStore) -> None:
    user = store.add("alice", "alice-password-1", role="analyst", clearance="AMBER")
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n")  # fixtures, restore --force, bench
    assert store.authenticate("alice", "alice-password-1") == user
    assert AccountStore(store.path).get("alice") == user


def test_markings_present_and_cleared_for_everything(neo4j_driver: Any) -> None:
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n")
    amber = User("a", "analyst", "AMBER")
    assert markings_present(neo4j_driver) == [] and cleared_for_everything(neo4j_driver, amber)
    neo4j_driver.execute_query("CREATE (:Document {id: 'm1', tlp: 'GREEN'}), "
                               "(:Document {id: 'm2', tlp: 'AMBER'})")
    assert sorted(markings_present(neo4j_driver)) == ["AMBER", "GREEN"]
    assert cleared_for_everything(neo4j_driver, amber)
    neo4j_driver.execute_query("CREATE (:Document {id: 'm3'})")  # unmarked: RED
    assert not cleared_for_everything(neo4j_driver, amber)
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n")
