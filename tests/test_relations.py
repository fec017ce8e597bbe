"""Relation patterns that public EU and NATO cyber-policy texts use, on short realistic
sentences, with the real model: funding, threats addressed and targeted, membership,
cooperation, participation, venues, attribution, responses, back-references and
relations stated by headings and datelines."""

from __future__ import annotations

import hashlib

import pytest

from ingest.extract import Extractor
from ingest.records import Document


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def make_doc(text: str) -> Document:
    return Document(id=hashlib.sha256(text.encode()).hexdigest(), path="r.txt", title="r",
                    text=text, format="txt")


def typed(extractor: Extractor, text: str) -> set[tuple[str, str, str]]:
    extraction = extractor.extract(make_doc(text))
    names = {e.key: e.name for e in extraction.entities}
    return {(names[r.source], r.type, names[r.target]) for r in extraction.relations
            if r.type != "RELATED_TO"}


def entity_names(extractor: Extractor, text: str) -> set[tuple[str, str]]:
    return {(e.type, e.name) for e in extractor.extract(make_doc(text)).entities}


@pytest.mark.parametrize(("text", "expected"), [
    # FUNDS
    ("The Cybersecurity Skills Academy will be financed under the Digital Europe Programme.",
     ("Digital Europe Programme", "FUNDS", "Cybersecurity Skills Academy")),
    ("The Commission supports the European Cybersecurity Competence Centre with EUR 1 billion "
     "from Horizon Europe.",
     ("Horizon Europe", "FUNDS", "European Cybersecurity Competence Centre")),
    ("PESCO Cyber Rapid Response Teams received funding from the European Defence Fund.",
     ("European Defence Fund", "FUNDS", "PESCO Cyber Rapid Response Teams")),
    # ADDRESSES
    ("The EU Cybersecurity Strategy aims to counter ransomware.",
     ("EU Cybersecurity Strategy", "ADDRESSES", "ransomware")),
    ("The Cyber Solidarity Act sets out measures against ransomware.",
     ("Cyber Solidarity Act", "ADDRESSES", "ransomware")),
    ("The Budapest Convention is the main instrument in the fight against cybercrime.",
     ("Budapest Convention", "ADDRESSES", "cybercrime")),
    # TARGETS
    ("Russia targeted the energy sector of Ukraine.", ("Russia", "TARGETS", "energy")),
    ("APT28 attacks on public administrations continued in 2023.",
     ("APT28", "TARGETS", "public administration")),
    ("Ransomware groups increasingly hit hospitals across Europe.",
     ("ransomware", "TARGETS", "healthcare")),
    # MEMBER_OF
    ("Finland, a member of NATO since 2023, hosted the exercise.",
     ("Finland", "MEMBER_OF", "NATO")),
    ("Sweden joined NATO in March 2024.", ("Sweden", "MEMBER_OF", "NATO")),
    # COOPERATES_WITH
    ("The Commission, in cooperation with ENISA, will prepare a risk assessment.",
     ("European Commission", "COOPERATES_WITH", "ENISA")),
    ("CERT-EU works jointly with ENISA on situational awareness.",
     ("CERT-EU", "COOPERATES_WITH", "ENISA")),
    ("The European Union and NATO will deepen their cooperation on cyber defence.",
     ("European Union", "COOPERATES_WITH", "NATO")),
    # PARTICIPATES_IN
    ("Estonia took part in Locked Shields.", ("Estonia", "PARTICIPATES_IN", "Locked Shields")),
    ("ENISA participates in Cyber Europe every two years.",
     ("ENISA", "PARTICIPATES_IN", "Cyber Europe")),
    # LEADS
    ("ENISA organises Cyber Europe, the largest EU cyber exercise.",
     ("ENISA", "LEADS", "Cyber Europe")),
    # HELD_IN
    ("The 2023 NATO Summit was held in Vilnius in July.",
     ("NATO Vilnius Summit", "HELD_IN", "Vilnius")),
    ("Allies met at the Vilnius Summit.", ("NATO Vilnius Summit", "HELD_IN", "Vilnius")),
    # CAUSED
    ("The SolarWinds compromise, attributed to APT29, affected many agencies.",
     ("APT29", "CAUSED", "SolarWinds hack")),
    ("LockBit was behind the Synnovis attack.", ("LockBit", "CAUSED", "Synnovis attack")),
    ("The Colonial Pipeline attack was claimed by DarkSide.",
     ("DarkSide", "CAUSED", "Colonial Pipeline attack")),
    # RESPONDS_TO
    ("CERT-EU issued guidance in response to the Log4Shell vulnerability.",
     ("CERT-EU", "RESPONDS_TO", "Log4Shell")),
])
def test_relation_pattern(extractor: Extractor, text: str, expected) -> None:
    assert expected in typed(extractor, text)


def test_back_reference_to_named_initiative(extractor: Extractor) -> None:
    text = ("The Commission launched the Cybersecurity Skills Academy in April 2023. "
            "The Academy will address the skills shortage.")
    assert ("Cybersecurity Skills Academy", "ADDRESSES", "skills shortage") in typed(
        extractor, text)


def test_this_directive_is_the_documents_own_act(extractor: Extractor) -> None:
    text = ("The NIS2 Directive replaces the NIS Directive. "
            "This Directive should apply to the energy sector.")
    rels = typed(extractor, text)
    assert ("NIS2 Directive", "COVERS", "energy") in rels
    assert ("NIS Directive", "COVERS", "energy") not in rels


def test_the_agency_resolves_through_registry_aliases(extractor: Extractor) -> None:
    text = ("The European Defence Agency presented its annual report. "
            "The Agency will support the PESCO Cyber Rapid Response Teams.")
    names = entity_names(extractor, text)
    assert ("Actor", "European Defence Agency") in names
    assert not any(n == "Agency" for _t, n in names)


def test_pronoun_subject_continues_previous_subject(extractor: Extractor) -> None:
    text = ("The EU Policy on Cyber Defence was adopted in 2022. "
            "It will strengthen the protection of the energy sector.")
    assert ("EU Policy on Cyber Defence", "COVERS", "energy") in typed(extractor, text)


def test_meeting_heading_and_dateline_give_venue(extractor: Extractor) -> None:
    text = "Cyber Ministers' Meeting\n\n4 September 2024, Karpacz, Poland\n\nWelcome."
    assert ("Cyber Ministers' Meeting", "HELD_IN", "Karpacz") in typed(extractor, text)


def test_update_heading_responds_to_incident(extractor: Extractor) -> None:
    text = ("The CrowdStrike outage disrupted airlines worldwide.\n\n"
            "Update from the Australian Cyber Security Centre (ACSC)\n\n"
            "- Malicious actors are exploiting the situation.")
    assert ("ACSC", "RESPONDS_TO", "CrowdStrike outage") in typed(extractor, text)


def test_victim_named_in_an_attack_did_not_cause_it(extractor: Extractor) -> None:
    rels = typed(extractor, "The SolarWinds compromise affected many agencies.")
    assert ("SolarWinds", "CAUSED", "SolarWinds hack") not in rels


def test_leads_wins_over_participates(extractor: Extractor) -> None:
    rels = typed(extractor, "ENISA launched and contributes to the single reporting platform.")
    assert not {("ENISA", "LEADS", "single reporting platform"),
                ("ENISA", "PARTICIPATES_IN", "single reporting platform")} <= rels


@pytest.mark.parametrize(("text", "absent"), [
    ("Manufacturers shall report any vulnerability to the CSIRT.", ("Threat", "vulnerability")),
    ("This applies to small and medium-sized enterprises.", ("Sector", "media")),
    ("The entity manufacturing or maintaining the component shall inform users.",
     ("Sector", "manufacturing")),
    ("The update crashed 8.5 million Windows devices.", ("Actor", "Windows")),
    ("Member States shall apply Union law at Union level.", ("Actor", "European Union")),
    ("Member States designate computer emergency response teams.",
     ("Sector", "emergency services")),
])
def test_noise_is_not_an_entity(extractor: Extractor, text: str, absent) -> None:
    assert absent not in entity_names(extractor, text)


def test_the_union_acting_is_kept(extractor: Extractor) -> None:
    names = entity_names(extractor, "The Union shall support Member States in this effort.")
    assert ("Actor", "European Union") in names
