"""Unit tests of the policykg spaCy components on short excerpts.

Most tests build on `spacy.blank("en")`: the ruler, acronym detection, the NER mapper and
canonicalisation need no statistical model. Lemma-based term matching uses the model."""

from __future__ import annotations

import pytest
import spacy
from spacy.tokens import Span

from graph.ontology import default_ontology
from ingest.components import (
    METHOD_ACRONYM,
    METHOD_REGISTRY,
    NESTED_KEY,
    RegistryIndex,
    _initials_match,
    add_components,
    is_acronym,
)
from ingest.nlp import load_nlp


@pytest.fixture(scope="module")
def blank():
    return add_components(spacy.blank("en"), default_ontology())


@pytest.fixture(scope="module")
def model():
    return add_components(load_nlp(), default_ontology())


def ents(doc):
    return [(e.text, e.label_, e.kb_id_) for e in doc.ents]


def test_ruler_matches_long_names_in_any_case_and_plural(blank):
    doc = blank("THE EUROPEAN UNION AGENCY FOR CYBERSECURITY met. Critical infrastructures matter.")
    found = ents(doc)
    assert ("EUROPEAN UNION AGENCY FOR CYBERSECURITY", "Actor", "ENISA") in found
    assert ("Critical infrastructures", "Sector", "critical infrastructure") in found


def test_ruler_matches_acronyms_on_exact_case_only(blank):
    doc = blank("The CRA applies. The cra word and ENISA's report, not enisa.")
    found = ents(doc)
    assert ("CRA", "Initiative", "Cyber Resilience Act") in found
    assert ("ENISA", "Actor", "ENISA") in found
    assert not any(text in {"cra", "enisa"} for text, _, _ in found)
    assert all(e.id_ == METHOD_REGISTRY for e in doc.ents)


def test_ruler_skips_eu_inside_legal_citations(blank):
    doc = blank("This Directive amends Directive (EU) 2016/1148 across the EU.")
    eu = [e for e in doc.ents if e.kb_id_ == "European Union"]
    assert [e.text for e in eu] == ["EU"]
    assert eu[0].start == len(doc) - 2


def test_ruler_keeps_names_nested_in_longer_names(blank):
    doc = blank("Russia's war of aggression against Ukraine goes on.")
    assert ents(doc)[0][2] == "Russia's war of aggression against Ukraine"
    nested = {(s.text, s.label_) for s in doc.spans[NESTED_KEY]}
    assert ("Russia", "Actor") in nested and ("Ukraine", "Actor") in nested


def test_acronym_definition_teaches_the_document_an_alias(blank):
    doc = blank("The Baltic Cyber Response Coordination Unit (BCRCU) was set up. "
                "Later the BCRCU met again.")
    found = [(e.text, e.label_, e.kb_id_, e.id_) for e in doc.ents]
    name = "Baltic Cyber Response Coordination Unit"
    assert (name, "Actor", name, METHOD_ACRONYM) in found
    assert found.count(("BCRCU", "Actor", name, METHOD_ACRONYM)) == 2


def test_acronym_definition_resolves_to_registry_entry(blank):
    doc = blank("ENISA (European Union Agency for Cybersecurity) will help.")
    assert {e.kb_id_ for e in doc.ents} == {"ENISA"}


def test_initials_match_schwartz_hearst():
    words = ["support", "from", "the", "European", "Supervisory", "Authorities"]
    assert _initials_match("ESAs", words) == 3
    assert _initials_match("XYZ", words) == 0
    assert is_acronym("NIS2") and is_acronym("CERT-EU") and not is_acronym("Union")


def test_ner_mapper_maps_labels_and_filters_noise(blank):
    mapper = blank.get_pipe("policykg_ner_mapper")
    text = ("QUESTION 1 STATE AND NON-STATE ACTORS and member states and "
            "the Acme Cyber Alliance on 4 September 2024")
    doc = blank.make_doc(text)

    def span(part: str, label: str) -> Span:
        start = text.index(part)
        return doc.char_span(start, start + len(part), label=label)

    doc.ents = [span("QUESTION 1 STATE AND NON-STATE ACTORS", "ORG"),
                span("member states", "ORG"), span("the Acme Cyber Alliance", "ORG"),
                span("4 September 2024", "DATE")]
    doc = mapper(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Acme Cyber Alliance", "Actor")]


def test_canonicaliser_uses_aliases_then_fuzzy_matching(blank):
    canon = blank.get_pipe("policykg_canonicaliser")
    doc = blank.make_doc("the European Union Agency for Cybersecurity and the "
                         "European Unoin Agency for Cybersecurity and Acme Widgets")
    doc.ents = [Span(doc, 1, 6, label="Actor"), Span(doc, 8, 13, label="Actor"),
                Span(doc, 14, 16, label="Actor")]
    doc = canon(doc)
    assert [e.kb_id_ for e in doc.ents] == ["ENISA", "ENISA", "Acme Widgets"]


def test_registry_index_lookup_variants():
    index = RegistryIndex(default_ontology())
    assert index.lookup("ENISA's").name == "ENISA"
    assert index.lookup("the critical infrastructures").name == "critical infrastructure"
    assert index.lookup("no such body") is None


def test_lemma_terms_resolve_inflected_sector_and_threat_terms(model):
    doc = model("We must address talent shortages; health systems face ransomware attacks.")
    found = {(e.text, e.kb_id_) for e in doc.ents}
    assert ("talent shortages", "skills shortage") in found
    assert ("health systems", "healthcare") in found
    assert ("ransomware attacks", "ransomware") in found


def test_themes_tag_sentences(model):
    doc = model("Hospitals need help. The weather is nice.")
    themes = dict(doc._.policykg_themes)
    assert "healthcare" in themes[0]
    assert len(themes) == 1
