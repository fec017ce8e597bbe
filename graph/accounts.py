"""Dashboard accounts: who may log in, with which role and which TLP clearance.

Accounts live in Neo4j as `(:User {name, hash, role, clearance, created, stamp})`, names
unique by constraint. Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's
low-memory profile) and never stored or logged in clear. Roles are ordered (a steward can do
what an analyst can, and so on); clearances follow TLP (CLEAR < GREEN < AMBER < RED).
The statements live in `graph/queries.py`; the driver is passed in.
"""

from __future__ import annotations

import builtins
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from neo4j import READ_ACCESS, WRITE_ACCESS, Driver
from neo4j.exceptions import ConstraintError

from graph import queries
from ingest.records import TLP_LEVELS, Tlp

Role = Literal["viewer", "analyst", "steward", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "analyst", "steward", "admin")
MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

_HASHER = PasswordHasher()  # argon2id
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """An account could not be created or changed (bad name, weak password, duplicate…)."""


@dataclass(frozen=True, slots=True)
class User:
    """An account as the dashboard sees it (the hash stays in the store)."""

    name: str
    role: Role
    clearance: Tlp
    stamp: str = ""
    created: str | None = None

    def can(self, role: Role) -> bool:
        """True when this user's role is `role` or above it."""
        return role_rank(self.role) >= role_rank(role)

    def cleared_for(self, marking: str | None) -> bool:
        return clearance_allows(self.clearance, marking)


def role_rank(role: str) -> int:
    return ROLES.index(cast(Role, role)) if role in ROLES else -1


def allowed_markings(clearance: str) -> list[str]:
    """The TLP markings a clearance may read: its own and every lower one."""
    if clearance not in TLP_LEVELS:
        raise AccountError(f"unknown clearance {clearance!r} (one of {', '.join(TLP_LEVELS)})")
    return list(TLP_LEVELS[: TLP_LEVELS.index(cast(Tlp, clearance)) + 1])


def clearance_allows(clearance: str, marking: str | None) -> bool:
    """A document without a marking is treated as RED (fail closed)."""
    return (marking or "RED") in allowed_markings(clearance)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    """Constant work whether or not the account exists; never raises on a bad hash."""
    try:
        return _HASHER.verify(hashed or _DUMMY_HASH, password) and hashed is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise AccountError("a user name is 1-64 letters, digits, '.', '_', '@' or '-'")
    return name


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    return cast(Role, role)


def random_password() -> str:
    return secrets.token_urlsafe(18)


def _user(row: dict[str, Any]) -> User:
    return User(name=row["name"], role=check_role(row["role"]),
                clearance=cast(Tlp, row.get("clearance") or "CLEAR"),
                stamp=row.get("stamp") or "", created=row.get("created"))


class AccountStore:
    """Reads and writes accounts; the driver is passed in."""

    def __init__(self, driver: Driver, database: str | None = None, *,
                 retry_seconds: float = 3.0) -> None:
        self.driver = driver
        self.database = database
        # Bounded retries: the dashboard asks on every login, and must answer quickly (with
        # "the database is not reachable") rather than after the driver's default 30 s.
        self.retry_seconds = retry_seconds

    def _run(self, statement: str, *, read: bool = False, **params: Any) -> list[Any]:
        with self.driver.session(
            database=self.database,
            default_access_mode=READ_ACCESS if read else WRITE_ACCESS,
            max_transaction_retry_time=self.retry_seconds,
        ) as session:
            work = session.execute_read if read else session.execute_write
            return work(lambda tx: list(tx.run(statement, params)))

    def ensure_schema(self) -> None:
        for statement in queries.ACCOUNT_SCHEMA:
            self._run(statement)

    def add(self, name: str, password: str, role: str = "viewer",
            clearance: str = "CLEAR") -> User:
        check_name(name)
        allowed_markings(clearance)
        hashed = hash_password(password)
        self.ensure_schema()
        try:
            self._run(queries.CREATE_USER, name=name, hash=hashed, role=check_role(role),
                      clearance=clearance, stamp=secrets.token_hex(8))
        except ConstraintError as exc:
            raise AccountError(f"a user named {name!r} already exists") from exc
        found = self.get(name)
        assert found is not None
        return found

    def ensure_admin(self, name: str = "admin") -> str | None:
        """Create `name` (admin, cleared RED) with a random password when no account exists
        yet; return that password (to print once), or None when accounts already exist."""
        self.ensure_schema()
        password = random_password()
        try:
            rows = self._run(queries.CREATE_FIRST_USER, name=check_name(name),
                             hash=hash_password(password), role="admin", clearance="RED",
                             stamp=secrets.token_hex(8))
        except ConstraintError:
            return None
        return password if rows else None

    def get(self, name: str) -> User | None:
        rows = self._run(queries.USER_BY_NAME, read=True, name=name)
        return _user(rows[0]["user"]) if rows else None

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password is right, else None (same cost for unknown names)."""
        valid = bool(_NAME.fullmatch(name or ""))
        rows = self._run(queries.USER_BY_NAME, read=True, name=name) if valid else []
        row = rows[0]["user"] if rows else None
        if not verify_password(row["hash"] if row else None, password) or row is None:
            return None
        return _user(row)

    def list(self) -> list[User]:  # noqa: A003 - `users list`
        return [_user(r["user"]) for r in self._run(queries.USERS, read=True)]

    def remove(self, name: str) -> bool:
        return bool(self._run(queries.DELETE_USER, name=name)[0]["deleted"])

    def set_password(self, name: str, password: str) -> bool:
        hashed = hash_password(password)
        rows = self._run(queries.SET_USER_PASSWORD, name=name, hash=hashed,
                         stamp=secrets.token_hex(8))
        return bool(rows and rows[0]["updated"])

    def markings_present(self) -> builtins.list[str]:
        rows = self._run(queries.MARKINGS_PRESENT, read=True)
        return list(rows[0]["markings"]) if rows else []

    def cleared_for_everything(self, user: User) -> bool:
        """True when `user` is cleared for every TLP marking present in the graph."""
        return all(user.cleared_for(m) for m in self.markings_present())
