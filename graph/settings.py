"""Configuration, read once at the entry points from the environment or a `.env` file."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.records import Tlp


class Settings(BaseSettings):
    """Where Neo4j is and how policykg behaves; the password is kept as a secret."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"

    policykg_home: Path = Path(".policykg")
    policykg_default_tlp: Tlp = "CLEAR"
    policykg_query_timeout: float = 15.0
    policykg_query_row_cap: int = 1000
    policykg_spacy_model: str | None = None
    # The dashboard's session signing key; when unset, one is generated and kept in
    # POLICYKG_HOME/secret_key (mode 0600).
    policykg_secret_key: SecretStr | None = None
    policykg_session_hours: float = 8.0
    # Mark session cookies Secure (set it when a TLS proxy serves the dashboard over https;
    # requests that arrive over https get Secure cookies in any case).
    policykg_https: bool = False
    # The dashboard accounts (argon2id hashes, roles, clearances): a file owned by the app
    # server, mode 0600, never in the graph. Default: POLICYKG_HOME/users.json.
    policykg_users_file: Path | None = None

    @property
    def users_file(self) -> Path:
        return self.policykg_users_file or self.policykg_home / "users.json"

    def driver(self):  # noqa: ANN201 - neo4j.Driver, imported lazily to keep start-up light
        """Open a driver; only the CLI and the app call this."""
        from neo4j import GraphDatabase

        return GraphDatabase.driver(
            self.neo4j_uri, auth=(self.neo4j_user, self.neo4j_password.get_secret_value())
        )


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
