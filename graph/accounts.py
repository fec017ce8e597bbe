"""Dashboard accounts: who may log in, with which role and which TLP clearance.

Accounts live outside the graph, in a JSON file owned by the app server (by default
`POLICYKG_HOME/users.json`), so nothing that reads or wipes the graph (the analysts' Cypher
console, backups, `restore --force`, test and bench wipes) can see or delete them. The file is
created with mode 0600 in a directory created 0700, replaced atomically (a temporary file in
the same directory, then `os.replace`), and every read-modify-write holds an exclusive
`fcntl.flock` on a sidecar `.lock` file, so several app processes and the CLI can share it;
readers reload it whenever it changes on disk.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile) and
never stored or logged in clear. Roles are ordered (a steward can do what an analyst can, and
so on); clearances follow TLP (CLEAR < GREEN < AMBER < RED). Which markings are present is a
question for the graph: `markings_present(driver, database)`.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from neo4j import READ_ACCESS, Driver

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


FILE_MODE = 0o600
DIR_MODE = 0o700
_FORMAT = 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _user(name: str, row: dict[str, Any]) -> User:
    return User(name=name, role=check_role(row["role"]),
                clearance=cast(Tlp, row.get("clearance") or "CLEAR"),
                stamp=row.get("stamp") or "", created=row.get("created"))


class AccountStore:
    """Reads and writes the accounts file at `path` (see the module's docstring)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._mutex = threading.RLock()  # threads of this process; flock covers processes
        self._seen: tuple[int, int, int] | None = None  # (inode, mtime_ns, size) last read
        self._users: dict[str, dict[str, Any]] = {}

    # --- the file ---------------------------------------------------------------------------

    def _ensure_dir(self) -> None:
        parent = self.path.parent
        if not parent.exists():
            parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            os.chmod(parent, DIR_MODE)  # mkdir's mode is masked by the umask

    def _parse(self, raw: bytes) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(raw)
            users = data["users"]
            if not isinstance(users, dict):
                raise TypeError("users is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise AccountError(f"the accounts file {self.path} is not valid: {exc}") from exc
        return cast(dict[str, dict[str, Any]], users)

    def _load(self) -> dict[str, dict[str, Any]]:
        """The accounts, re-read when the file changed on disk since the last read."""
        with self._mutex:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                self._seen, self._users = None, {}
                return self._users
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
            if seen != self._seen:
                # os.replace swaps the whole file: what is opened is one complete version.
                with open(self.path, "rb") as fh:
                    fst = os.fstat(fh.fileno())
                    users = self._parse(fh.read())
                self._users = users
                self._seen = (fst.st_ino, fst.st_mtime_ns, fst.st_size)
            return self._users

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive across threads and processes, for a read-modify-write."""
        with self._mutex:
            self._ensure_dir()
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the lock

    def _write(self, users: dict[str, dict[str, Any]]) -> None:
        """Replace the file atomically; the temporary file is created 0600 (mkstemp)."""
        body = json.dumps({"format": _FORMAT, "users": users}, indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                os.fchmod(fh.fileno(), FILE_MODE)
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _modify(self, change: Callable[[dict[str, dict[str, Any]]], Any]) -> Any:
        """Run `change` on a fresh copy of the accounts, read under the lock; write the copy
        back when `change` altered it. Returns what `change` returns."""
        with self._locked():
            self._seen = None  # read what is on disk now, under the lock
            users = {k: dict(v) for k, v in self._load().items()}
            before = json.dumps(users, sort_keys=True)
            result = change(users)
            if json.dumps(users, sort_keys=True) != before:
                self._write(users)
                self._seen = None
                self._load()
            return result

    # --- accounts ---------------------------------------------------------------------------

    def add(self, name: str, password: str, role: str = "viewer",
            clearance: str = "CLEAR") -> User:
        check_name(name)
        check_role(role)
        allowed_markings(clearance)
        hashed = hash_password(password)

        def change(users: dict[str, dict[str, Any]]) -> User:
            if name in users:
                raise AccountError(f"a user named {name!r} already exists")
            users[name] = {"hash": hashed, "role": role, "clearance": clearance,
                           "stamp": secrets.token_hex(8), "created": _now()}
            return _user(name, users[name])

        return cast(User, self._modify(change))

    def ensure_admin(self, name: str = "admin") -> str | None:
        """Create `name` (admin, cleared RED) with a random password when no account exists
        yet; return that password (to print once), or None when accounts already exist."""
        check_name(name)
        if self._load():
            return None
        password = random_password()
        hashed = hash_password(password)

        def change(users: dict[str, dict[str, Any]]) -> str | None:
            if users:
                return None
            users[name] = {"hash": hashed, "role": "admin", "clearance": "RED",
                           "stamp": secrets.token_hex(8), "created": _now()}
            return password

        return cast("str | None", self._modify(change))

    def get(self, name: str) -> User | None:
        row = self._load().get(name)
        return _user(name, row) if row else None

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password is right, else None (same cost for unknown names)."""
        valid = bool(_NAME.fullmatch(name or ""))
        row = self._load().get(name) if valid else None
        if not verify_password(row["hash"] if row else None, password) or row is None:
            return None
        return _user(name, row)

    def list(self) -> builtins.list[User]:  # noqa: A003 - `users list`
        users = self._load()
        return [_user(name, users[name]) for name in sorted(users)]

    def remove(self, name: str) -> bool:
        return bool(self._modify(lambda users: users.pop(name, None) is not None))

    def set_password(self, name: str, password: str) -> bool:
        """A new hash and a new stamp, so sessions issued before it stop working."""
        hashed = hash_password(password)

        def change(users: dict[str, dict[str, Any]]) -> bool:
            if name not in users:
                return False
            users[name].update(hash=hashed, stamp=secrets.token_hex(8))
            return True

        return bool(self._modify(change))


# --- what the graph holds --------------------------------------------------------------------


def markings_present(driver: Driver, database: str | None = None, *,
                     retry_seconds: float = 3.0) -> list[str]:
    """The TLP markings of the documents in the graph (an unmarked document counts as RED).
    Bounded retries: the dashboard asks while serving and must answer quickly."""
    with driver.session(database=database, default_access_mode=READ_ACCESS,
                        max_transaction_retry_time=retry_seconds) as session:
        rows = session.execute_read(lambda tx: list(tx.run(queries.MARKINGS_PRESENT)))
    return list(rows[0]["markings"]) if rows else []


def cleared_for_everything(driver: Driver, user: User, database: str | None = None) -> bool:
    """True when `user` is cleared for every TLP marking present in the graph."""
    return all(user.cleared_for(m) for m in markings_present(driver, database))
