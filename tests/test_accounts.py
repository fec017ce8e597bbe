"""Accounts: argon2id hashing, roles and clearances, the account store against the real
Neo4j, and `policykg users` with the password on standard input."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from graph.accounts import (
    AccountError,
    AccountStore,
    User,
    allowed_markings,
    clearance_allows,
    hash_password,
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


# --- against Neo4j ---------------------------------------------------------------------------


@pytest.fixture
def store(neo4j_driver: Any) -> AccountStore:
    neo4j_driver.execute_query("MATCH (u:User) DELETE u")
    accounts = AccountStore(neo4j_driver)
    accounts.ensure_schema()
    return accounts


def test_store_adds_authenticates_changes_and_removes(store: AccountStore) -> None:
    user = store.add("alice", "alice-password-1", role="analyst", clearance="GREEN")
    assert (user.name, user.role, user.clearance) == ("alice", "analyst", "GREEN")
    stored = store.driver.execute_query(
        "MATCH (u:User {name: 'alice'}) RETURN u.hash AS h, u.created AS c").records[0]
    assert stored["h"].startswith("$argon2id$") and stored["c"] is not None
    assert store.authenticate("alice", "alice-password-1") == user
    assert store.authenticate("alice", "wrong-password-1") is None
    assert store.authenticate("nobody", "alice-password-1") is None
    with pytest.raises(AccountError, match="already exists"):
        store.add("alice", "another-password", role="viewer")
    with pytest.raises(AccountError):
        store.add("bad name!", "alice-password-1")
    with pytest.raises(AccountError):
        store.add("bob", "bob-password-1", role="root")
    assert store.set_password("alice", "alice-password-2")
    changed = store.get("alice")
    assert changed is not None and changed.stamp != user.stamp  # old sessions end
    assert store.authenticate("alice", "alice-password-1") is None
    assert store.authenticate("alice", "alice-password-2") is not None
    assert [u.name for u in store.list()] == ["alice"]
    assert store.remove("alice") and not store.remove("alice")
    assert store.get("alice") is None


def test_name_is_unique_by_constraint(store: AccountStore) -> None:
    rows = store.driver.execute_query("SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties "
                                      "WHERE 'User' IN labelsOrTypes RETURN properties").records
    assert [r["properties"] for r in rows] == [["name"]]


def test_ensure_admin_only_when_no_account_exists(store: AccountStore) -> None:
    password = store.ensure_admin()
    assert password and len(password) >= 20
    admin = store.authenticate("admin", password)
    assert admin is not None and admin.role == "admin" and admin.clearance == "RED"
    assert store.ensure_admin() is None  # never a second time


def test_cli_users_add_reads_the_password_from_stdin(store: AccountStore) -> None:
    from policykg_cli import main

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


def test_cli_ensure_admin_prints_the_password_once(store: AccountStore) -> None:
    from policykg_cli import main

    runner = CliRunner()
    first = runner.invoke(main, ["users", "ensure-admin"])
    assert first.exit_code == 0, first.output
    password = first.output.split("shown only now: ")[1].split()[0]
    assert store.authenticate("admin", password) is not None
    second = runner.invoke(main, ["users", "ensure-admin"])
    assert second.exit_code == 0 and "shown only now" not in second.output
