"""Held-out-style relation patterns: sentences in the manner of NATO summit communiqués,
Council conclusions, ENISA Threat Landscape reports and EU and national strategies, none of
them from the dev corpus. They check general patterns (nominal attacks and risks, funding
amounts, "jointly / together with", "cooperation between", role titles), and noise that must
give nothing."""

from __future__ import annotations

import hashlib

import pytest

from ingest.extract import Extractor
from ingest.records import Document


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def _extract(extractor: Extractor, text: str):
    doc = Document(id=hashlib.sha256(text.encode()).hexdigest(), path="h.txt", title="h",
                   text=text, format="txt")
    return extractor.extract(doc)


def typed(extractor: Extractor, text: str) -> set[tuple[str, str, str]]:
    extraction = _extract(extractor, text)
    names = {e.key: e.name for e in extraction.entities}
    return {(names[r.source], r.type, names[r.target]) for r in extraction.relations
            if r.type != "RELATED_TO"}


@pytest.mark.parametrize(("text", "expected"), [
    # TARGETS, nominal: "X attacks against / on Y", "attacks by X against Y", "threats to Y"
    ("Malicious cyber activities by state and non-state actors, including ransomware attacks "
     "against critical infrastructure, are increasing.",
     ("ransomware", "TARGETS", "critical infrastructure")),
    ("Hybrid threats to critical infrastructure are growing across the Euro-Atlantic area.",
     ("hybrid threat", "TARGETS", "critical infrastructure")),
    ("Ransomware remains the most significant threat to the health sector.",
     ("ransomware", "TARGETS", "healthcare")),
    ("Russia conducted cyber campaigns against Ukraine's energy sector.",
     ("Russia", "TARGETS", "energy")),
    ("Attacks by APT28 against the energy sector intensified after February 2022.",
     ("APT28", "TARGETS", "energy")),
    ("Phishing campaigns against the healthcare sector increased sharply.",
     ("phishing", "TARGETS", "healthcare")),
    ("The ENISA Threat Landscape reports that DDoS attacks on the transport sector doubled.",
     ("DDoS", "TARGETS", "transport")),
    ("The threat posed by ransomware to the health sector continues to grow.",
     ("ransomware", "TARGETS", "healthcare")),
    ("Disinformation campaigns against the European Union have intensified.",
     ("disinformation", "TARGETS", "European Union")),
    ("Pro-Russian hacktivists launched DDoS attacks against Lithuania.",
     ("DDoS", "TARGETS", "Lithuania")),
    # TARGETS, verbal
    ("The Lazarus Group, linked to North Korea, targets the financial sector.",
     ("Lazarus Group", "TARGETS", "finance")),
    ("Hospitals across Europe were hit by ransomware in 2023.",
     ("ransomware", "TARGETS", "healthcare")),
    ("DDoS attacks disrupted banking services in several Member States.",
     ("DDoS", "TARGETS", "banking")),
    ("State-sponsored actors such as APT28 are targeting the energy sector.",
     ("APT28", "TARGETS", "energy")),
    ("Sandworm disrupted the Ukrainian power grid in 2015.", ("Sandworm", "TARGETS", "energy")),
    # ADDRESSES
    ("The Cyber Solidarity Act aims to strengthen resilience against large-scale incidents "
     "and ransomware.", ("Cyber Solidarity Act", "ADDRESSES", "ransomware")),
    ("The European Democracy Action Plan sets out measures to counter disinformation.",
     ("European Democracy Action Plan", "ADDRESSES", "disinformation")),
    ("The Cybersecurity Skills Academy will help close the skills gap.",
     ("Cybersecurity Skills Academy", "ADDRESSES", "skills shortage")),
    ("The Cyber Diplomacy Toolbox allows the EU to respond to malicious cyber activities and "
     "cyber espionage.", ("Cyber Diplomacy Toolbox", "ADDRESSES", "cyber espionage")),
    # FUNDS
    ("The European Cybersecurity Competence Centre will manage EUR 1.6 billion from the "
     "Digital Europe Programme.",
     ("Digital Europe Programme", "FUNDS", "European Cybersecurity Competence Centre")),
    ("The Cyber Resilience Act receives EUR 10 million under Horizon Europe.",
     ("Horizon Europe", "FUNDS", "Cyber Resilience Act")),
    ("The European Cybersecurity Competence Centre is co-financed by Horizon Europe.",
     ("Horizon Europe", "FUNDS", "European Cybersecurity Competence Centre")),
    ("The European Defence Fund will finance PESCO Cyber Rapid Response Teams.",
     ("European Defence Fund", "FUNDS", "PESCO Cyber Rapid Response Teams")),
    # COOPERATES_WITH
    ("EU-NATO cooperation on cyber defence has deepened since 2016.",
     ("European Union", "COOPERATES_WITH", "NATO")),
    ("The Commission will act in close cooperation with ENISA and CERT-EU.",
     ("European Commission", "COOPERATES_WITH", "CERT-EU")),
    ("Europol, jointly with Eurojust, dismantled the LockBit infrastructure.",
     ("Europol", "COOPERATES_WITH", "Eurojust")),
    ("ENISA, together with CERT-EU, published a joint threat assessment.",
     ("ENISA", "COOPERATES_WITH", "CERT-EU")),
    ("The Council calls for enhanced cooperation between ENISA and Europol.",
     ("ENISA", "COOPERATES_WITH", "Europol")),
    # MEMBER_OF, PARTICIPATES_IN, LEADS
    ("Sweden became NATO's 32nd member in March 2024.", ("Sweden", "MEMBER_OF", "NATO")),
    ("Finland and Sweden became members of NATO.", ("Finland", "MEMBER_OF", "NATO")),
    ("Germany participated in Cyber Europe 2024.", ("Germany", "PARTICIPATES_IN", "Cyber Europe")),
    ("Poland contributes to the PESCO Cyber Rapid Response Teams.",
     ("Poland", "PARTICIPATES_IN", "PESCO Cyber Rapid Response Teams")),
    ("STRESSES the importance of closer cooperation between the CSIRTs Network and "
     "EU-CyCLONe.", ("CSIRTs network", "COOPERATES_WITH", "EU-CyCLONe")),
    ("Ireland is a member of the EU but not of NATO.", ("Ireland", "MEMBER_OF", "European Union")),
    # the object of "invite", "call on" does what the infinitive says
    ("The Council invites the Commission to propose a Cyber Blueprint.",
     ("European Commission", "LEADS",
      "Blueprint for coordinated response to large-scale cybersecurity incidents and crises")),
    ("CALLS ON the Commission to propose an action plan on the cybersecurity of hospitals and "
     "healthcare providers.",
     ("European Commission", "LEADS",
      "European action plan for cybersecurity of hospitals and healthcare providers")),
    ("ENISA coordinates the Cyber Europe exercise.", ("ENISA", "LEADS", "Cyber Europe")),
    ("Estonia hosts Locked Shields, the world's largest live-fire cyber defence exercise.",
     ("Estonia", "LEADS", "Locked Shields")),
    # RESPONDS_TO, CAUSED, HELD_IN
    ("ENISA supported Member States in response to the CrowdStrike outage.",
     ("ENISA", "RESPONDS_TO", "CrowdStrike outage")),
    ("CERT-EU responded to the SolarWinds compromise.",
     ("CERT-EU", "RESPONDS_TO", "SolarWinds hack")),
    ("The WannaCry attack was attributed to the Lazarus Group.",
     ("Lazarus Group", "CAUSED", "WannaCry")),
    ("The NotPetya attack was launched by Sandworm.", ("Sandworm", "CAUSED", "NotPetya")),
    ("The EU attributed the NotPetya attack to Russia.", ("Russia", "CAUSED", "NotPetya")),
    ("In response to the WannaCry attack, ENISA published guidance.",
     ("ENISA", "RESPONDS_TO", "WannaCry")),
    ("The NATO Summit in Vilnius took place on 11 and 12 July 2023.",
     ("NATO Vilnius Summit", "HELD_IN", "Vilnius")),
    # the object of an operative verb in capitals does what follows
    ("2. INVITES the High Representative and the Commission to strengthen cooperation with "
     "NATO, in particular in the areas of situational awareness and exercises.",
     ("European Commission", "COOPERATES_WITH", "NATO")),
    ("2. INVITES the High Representative and the Commission to strengthen cooperation with "
     "NATO, in particular in the areas of situational awareness and exercises.",
     ("High Representative", "COOPERATES_WITH", "NATO")),
    # acting together
    ("ENISA and Europol conducted a joint exercise in 2024.",
     ("ENISA", "COOPERATES_WITH", "Europol")),
    ("The European Cybersecurity Competence Centre implements the cybersecurity strand of the "
     "programme together with the National Coordination Centres.",
     ("European Cybersecurity Competence Centre", "COOPERATES_WITH",
      "Network of National Coordination Centres")),
    ("Under the Cyber Solidarity Act, the EU Cybersecurity Reserve will be financed with EUR 60 "
     "million and operated by ENISA.", ("ENISA", "LEADS", "EU-level cyber reserve")),
    # a clause on a noun speaks of that noun
    ("The Commission proposes to set up a Cyber Emergency Mechanism, financed by the Digital "
     "Europe Programme.", ("Digital Europe Programme", "FUNDS", "Cyber Emergency Mechanism")),
    # verbs whose subject undergoes the relation
    ("Hospitals across Europe face ransomware attacks every week.",
     ("ransomware", "TARGETS", "healthcare")),
    ("The European Cybersecurity Competence Centre receives funding from the Digital Europe "
     "Programme.", ("Digital Europe Programme", "FUNDS", "European Cybersecurity Competence "
                                                        "Centre")),
    # a partner at the end of a list is as much a partner as the first
    ("The European External Action Service will work with ENISA, Europol and CERT-EU to "
     "support Member States.", ("European External Action Service", "COOPERATES_WITH",
                                "CERT-EU")),
])
def test_heldout_relation(extractor: Extractor, text: str, expected) -> None:
    assert expected in typed(extractor, text)


@pytest.mark.parametrize(("text", "absent"), [
    # a third party calling for cooperation does not itself cooperate
    ("The Council calls for enhanced cooperation between ENISA and Europol.",
     ("Council of the European Union", "COOPERATES_WITH", "ENISA")),
    # the verb acts on the threat's group, or the target is the one acting
    ("Europol supported national law enforcement authorities in Operation Cronos, which "
     "disrupted the LockBit ransomware group in February 2024.",
     ("ransomware", "TARGETS", "Europol")),
    ("The Commission funds the Cyber Reserve through the Digital Europe Programme.",
     ("Digital Europe Programme", "FUNDS", "European Commission")),
    ("The Commission proposes to set up a Cyber Emergency Mechanism, financed by the Digital "
     "Europe Programme.", ("Digital Europe Programme", "FUNDS", "European Commission")),
    # the partner of one clause is not the partner of the next clause's partner
    ("ENISA works closely with CERT-EU to improve situational awareness, and it contributes "
     "to the EU Cyber Crisis Liaison Organisation Network (EU-CyCLONe).",
     ("CERT-EU", "COOPERATES_WITH", "EU-CyCLONe")),
    # the legal frame a verb acts within is not what it acts on
    ("Under the Cyber Solidarity Act, the EU Cybersecurity Reserve will be financed with EUR 60 "
     "million and operated by ENISA.", ("ENISA", "LEADS", "Cyber Solidarity Act")),
    # the Commission is encouraged to fund others, it is not funded
    ("4. WELCOMES the work of the European Cyber Security Organisation (ECSO) and the European "
     "Cybersecurity Competence Centre, and ENCOURAGES the Commission to support them through "
     "the Digital Europe Programme.", ("Digital Europe Programme", "FUNDS",
                                       "European Commission")),
    # attacking alike is not acting together
    ("Russia and the People's Republic of China continue to conduct malicious cyber "
     "activities against Allies.", ("Russia", "COOPERATES_WITH", "China")),
    ("Russia and North Korea target the energy sector.",
     ("Russia", "COOPERATES_WITH", "North Korea")),
    # the subject of another clause is not a partner
    ("ENISA and the CSIRTs Network exchanged information on the incident, while EU-CyCLONe "
     "assessed its impact on essential entities.", ("ENISA", "COOPERATES_WITH", "EU-CyCLONe")),
    # two partners of one verb are not partners of each other
    ("We will continue to work closely with the European Union, including through the "
     "EU-NATO Joint Declaration, and with industry partners such as Microsoft and Google.",
     ("European Union", "COOPERATES_WITH", "Microsoft")),
    # FUNDS needs an Initiative or Actor target, never a Sector
    ("The Recovery and Resilience Facility supports cybersecurity investments in hospitals.",
     ("Recovery and Resilience Facility", "FUNDS", "healthcare")),
    # the country a group is linked to is not the subject of "targets"
    ("The Lazarus Group, linked to North Korea, targets the financial sector.",
     ("North Korea", "TARGETS", "finance")),
    # the inviting body does not itself propose
    ("The Council invites the Commission to propose a Cyber Blueprint.",
     ("Council of the European Union", "LEADS",
      "Blueprint for coordinated response to large-scale cybersecurity incidents and crises")),
    # the attributing party did not cause the attack
    ("The EU attributed the NotPetya attack to Russia.", ("European Union", "CAUSED", "NotPetya")),
    # negation
    ("Ireland is a member of the EU but not of NATO.", ("Ireland", "MEMBER_OF", "NATO")),
    ("Ireland is a member of the EU but not of NATO.",
     ("European Union", "MEMBER_OF", "NATO")),
    # "responsible" describes the individuals, not the EU
    ("The European Union imposed sanctions on the individuals responsible for the NotPetya "
     "attack.", ("European Union", "CAUSED", "NotPetya")),
    # an agency's work on a sector is no attack on it
    ("ENISA's activities on the health sector include training.",
     ("ENISA", "TARGETS", "healthcare")),
])
def test_heldout_wrong_relation_absent(extractor: Extractor, text: str, absent) -> None:
    assert absent not in typed(extractor, text)


@pytest.mark.parametrize("text", [
    "The Council adopted conclusions on the EU Cyber Posture.",
    "Cybersecurity is a shared responsibility of all Allies.",
    "The report presents an overview of the threat landscape.",
    "Ministers discussed the security of supply chains.",
    "More than 30 countries participated in Locked Shields 2024.",
    "The Commission received a report from ENISA on the threat landscape.",
    "Switzerland is not a member of NATO.",
    "Cyber espionage against EU institutions remains a persistent threat.",
])
def test_heldout_noise_gives_no_relation(extractor: Extractor, text: str) -> None:
    assert typed(extractor, text) == set()


@pytest.mark.parametrize("text", [
    "INVITES the Commission and ENISA to work together on the implementation of NIS2.",
    "ENCOURAGES the Commission to use the Digital Europe Programme.",
    "WELCOMES the progress made by ENISA.",
])
def test_council_operative_verbs_are_not_actors(extractor: Extractor, text: str) -> None:
    names = {e.name for e in _extract(extractor, text).entities}
    assert not any(n.split()[0] in {"INVITES", "ENCOURAGES", "WELCOMES"} for n in names), names


@pytest.mark.parametrize("text", [
    "We, the Heads of State and Government of the 31 NATO Allies, have met in Vilnius.",
    "Heads of State and Government welcomed the progress made.",
    "The Ministers of Foreign Affairs and the Heads of Agencies met in Brussels.",
    "Leaders agreed that Allies and Parties to the Convention should act.",
])
def test_roles_are_not_actors(extractor: Extractor, text: str) -> None:
    names = {e.name.lower() for e in _extract(extractor, text).entities if e.type == "Actor"}
    roles = {"heads of state and government", "ministers", "ministers of foreign affairs",
             "heads of agencies", "leaders", "allies", "parties"}
    assert not names & roles


def test_a_name_headed_by_a_kind_of_text_is_an_initiative(extractor: Extractor) -> None:
    """NER calls "Conclusions on Cyber Diplomacy" an organisation; its head word says it is a
    text the Council adopted."""
    entities = _extract(extractor, "The Council recalls its Conclusions on Cyber Diplomacy "
                                   "of February 2015.").entities
    types = {e.name: e.type for e in entities}
    assert types.get("Conclusions on Cyber Diplomacy") == "Initiative", types


@pytest.mark.parametrize(("text", "name"), [
    ("Member States implement the Riga Cyber Roadmap adopted last year.", "Riga Cyber Roadmap"),
    ("The Vilnius Cyber Guidelines were endorsed by the ministers.", "Vilnius Cyber Guidelines"),
    ("The Commission will present a Proposal for a Regulation on Cyber Solidarity.",
     "Regulation on Cyber Solidarity"),
    ("Estonia hosted the Tallinn Cyber Conference in May.", "Tallinn Cyber Conference"),
    ("Cooperation is strengthened through the EU Cyber Commanders Conference, which brings "
     "together national cyber commanders.", "EU Cyber Commanders Conference"),
])
def test_a_capitalised_name_takes_the_type_its_head_word_names(
        extractor: Extractor, text: str, name: str) -> None:
    """Names NER misses (or cuts at a place it knows) are found by their head word; the place
    in "Riga Cyber Roadmap" is part of the name."""
    types = {e.name: e.type for e in _extract(extractor, text).entities}
    assert types.get(name) == ("Event" if name.endswith("Conference") else "Initiative"), types
    assert not {"Riga", "Vilnius", "Tallinn", "European Union"} & set(types)


@pytest.mark.parametrize("text", [
    "In Title III, Chapter II of the Regulation, Member States shall designate Competent "
    "Authorities.",
    "The EU supports an operational network for milCERTs (Military Computer Emergency Response "
    "Teams).",
])
def test_a_plural_of_bodies_is_not_an_actor(extractor: Extractor, text: str) -> None:
    names = {e.name for e in _extract(extractor, text).entities if e.type == "Actor"}
    assert not any(n.endswith(("Authorities", "Teams")) for n in names), names


def test_a_city_things_happen_in_is_a_location(extractor: Extractor) -> None:
    types = {e.name: e.type for e in _extract(
        extractor, "The Heads of State and Government of the Alliance have gathered in "
                   "Washington to celebrate its anniversary.").entities}
    assert types.get("Washington") == "Location", types


def test_a_name_used_as_an_adjective_is_no_actor(extractor: Extractor) -> None:
    names = {e.name for e in _extract(
        extractor, "Ransomware attacks against hospitals in several Allied nations disrupted "
                   "patient care in 2023.").entities}
    assert "Allied" not in names and "ransomware" in names, names


@pytest.mark.parametrize(("text", "name"), [
    ("The Ministry of Defence and the Ministry of the Interior will establish a joint cell.",
     "Ministry of Defence"),
    ("The Cyber Command of the Armed Forces supports the national CSIRT.",
     "Cyber Command of the Armed Forces"),
])
def test_a_name_runs_through_a_term_inside_it(extractor: Extractor, text: str,
                                              name: str) -> None:
    """"Defence" is a sector, but in "Ministry of Defence" it ends a body's name."""
    names = {e.name: e.type for e in _extract(extractor, text).entities}
    assert names.get(name) == "Actor", names
    assert not any(n.endswith(" of") for n in names), names


@pytest.mark.parametrize(("text", "name"), [
    ("The National Cybersecurity Strategy 2024-2028 sets five goals.",
     "US National Cybersecurity Strategy"),
    ("The National Cyber Security Centre will lead the implementation.", "NCSC-NL"),
    ("The National Cyber Security Centre will lead the implementation.", "NCSC-UK"),
])
def test_a_generic_title_is_not_linked_to_one_country(extractor: Extractor, text: str,
                                                      name: str) -> None:
    """Each country has its own strategy and centre: a bare title links to none of them."""
    assert name not in {e.name for e in _extract(extractor, text).entities}


def test_a_publication_is_neither_body_nor_initiative(extractor: Extractor) -> None:
    names = {e.name for e in _extract(
        extractor, "The Danish Centre for Cyber Security published its Threat Assessment "
                   "in March.").entities}
    assert "Threat Assessment" not in names, names
