"""spaCy components that turn a parsed `Doc` into ontology-typed entities, relations and themes.

Every component is registered with `@Language.factory`, declares what it needs and sets, and
takes its patterns from the ontology when it is initialised (`initialize(ontology=...)`, or
lazily from the default ontology). They annotate the `Doc` only; `ingest.extract.to_records`
turns the annotations into records. Entities live in `doc.ents` with `label_` = ontology
type, `kb_id_` = canonical name and `id_` = how they were found (registry, acronym, lemma,
ner). Relations and themes are plain, serialisable tuples in `doc._` extensions, so docs
survive the trip back from `nlp.pipe(n_process>1)` workers.

Pipeline order (see `add_components`): paragraphs -> [model up to lemmatizer] -> ontology
ruler -> lemma terms -> ner -> acronyms -> ner mapper -> canonicaliser -> relations -> themes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from graph.ontology import Ontology, RegistryEntry, default_ontology, load_ontology, normalise

# Extension attributes (plain data: serialisable with the Doc).
if not Doc.has_extension("policykg_relations"):
    # (source start_char, source end_char, type, target start_char, target end_char, method)
    Doc.set_extension("policykg_relations", default=None)
if not Doc.has_extension("policykg_themes"):
    # (sentence start_char, (theme ids...))
    Doc.set_extension("policykg_themes", default=None)

METHOD_REGISTRY = "registry"
METHOD_ACRONYM = "acronym"
METHOD_LEMMA = "lemma"
METHOD_NER = "ner"

# Heads that may follow a sector or threat term without changing what it names:
# "ransomware attacks" -> ransomware, "health systems" -> healthcare.
DEFAULT_TERM_HEADS: tuple[str, ...] = (
    "attack", "threat", "gang", "group", "operator", "actor", "campaign", "incident",
    "sector", "system", "infrastructure", "network", "service", "provider", "asset",
    "ecosystem", "industry", "email", "mail", "message", "activity", "operation", "community",
)
# Generic classes of actors and umbrella words the guide excludes from the graph.
DEFAULT_GENERIC: tuple[str, ...] = (
    "member states", "member state", "states", "state", "industry", "government", "governments",
    "state and non-state actors", "non-state actors", "state actors", "criminal entities",
    "hospitals", "union", "member", "members", "parliament", "council", "agency", "authorities",
    "cyber threats", "cyberattacks", "cybersecurity", "cyber", "internet", "eu member states",
    "partners", "stakeholders", "operators", "entities", "users", "customers", "question",
    "csirts", "csirt", "national csirts", "computer emergency response teams",
    "computer security incident response teams", "cert", "certs",
)
_GENERIC_NORMALISED = frozenset(normalise(g) for g in DEFAULT_GENERIC)
# The head word of an unknown long form, when NER has no opinion, decides its type.
DEFAULT_TYPE_HEADS: dict[str, tuple[str, ...]] = {
    "Actor": (
        "agency", "centre", "center", "authority", "authorities", "committee", "council",
        "network", "group", "office", "organisation", "organization", "team",
        "bank", "court", "parliament", "commission", "board", "body", "consortium",
        "institute", "staff", "alliance", "community", "forum", "ministry", "department",
        "representative", "secretariat", "congress", "command", "cell", "unit",
    ),
    "Initiative": (
        "act", "directive", "regulation", "strategy", "plan", "policy", "platform",
        "database", "toolbox", "package", "framework", "initiative", "academy", "code",
        "treaty", "decision", "recommendation", "exercise", "project", "communication",
        "agenda", "compass", "mechanism", "reserve", "shield", "programme", "program",
        "conclusions", "convention", "roadmap", "guidelines", "resolution",
    ),
    "FundingInstrument": ("fund", "facility", "voucher", "vouchers", "instrument", "budget"),
    "Event": ("conference", "summit", "meeting"),
}
_PREPOSITIONS = {"of", "for", "on", "against", "in", "to", "and", "at"}
# Registry terms too general to name a threat on their own: only their modified forms count
# ("actively exploited vulnerability", "software vulnerabilities"), never the bare word.
DEFAULT_BARE_TERMS: tuple[str, ...] = ("vulnerability", "vulnerabilities")
# Product and platform names NER tends to label as organisations or places.
DEFAULT_PRODUCTS: tuple[str, ...] = (
    "windows", "azure", "falcon", "office", "office 365", "microsoft 365", "android", "ios",
    "linux", "chrome", "exchange", "outlook", "teams", "sharepoint", "iphone", "macos",
    "chatgpt", "copilot", "gmail", "whatsapp", "telegram", "signal",
)
_PRODUCTS = frozenset(DEFAULT_PRODUCTS)
# Titles and roles that name a class of people, not an entity: "Heads of State and
# Government", "Ministers", "Allies", "Leaders", "Parties", "Heads of Agencies".
DEFAULT_ROLES: tuple[str, ...] = (
    "head", "heads", "minister", "ministers", "leader", "leaders", "ally", "allies", "party",
    "parties", "chief", "chiefs", "director", "directors", "ambassador", "ambassadors",
    "president", "presidents", "commissioner", "commissioners", "secretary", "secretaries",
    "representatives", "delegates", "delegations", "members", "signatories", "participants",
    "chairs", "governors", "officials", "experts",
)
_ROLES = frozenset(DEFAULT_ROLES)
# The operative verbs that open the paragraphs of Council conclusions and resolutions, in
# capitals: "INVITES the Commission ...", "CALLS ON Member States ...". NER reads them as names.
DEFAULT_OPERATIVE: tuple[str, ...] = (
    "stresses", "welcomes", "invites", "calls", "underlines", "recalls", "acknowledges", "notes",
    "emphasises", "emphasizes", "encourages", "highlights", "recognises", "recognizes", "agrees",
    "commits", "urges", "reaffirms", "reiterates", "considers", "supports", "requests",
    "affirms", "condemns", "expresses", "takes", "looks", "believes", "concludes", "endorses",
    "approves", "adopts", "decides", "underscores", "asks", "tasks", "appreciates",
    "commends", "deplores", "regrets", "resolves", "insists", "reminds", "proposes",
    "points", "draws", "shares", "states", "confirms", "declares",
)
_OPERATIVE = frozenset(DEFAULT_OPERATIVE)
# Words that may separate a back-reference's determiner from its head ("the new Directive").
_DEMONSTRATIVES = {"the", "this", "that", "these", "those", "said"}
# Heads that refer back to the latest incident or meeting whatever its own name's head is.
_EVENT_HEADS: dict[str, frozenset[str]] = {
    "incident": frozenset({"incident", "outage", "disruption", "attack", "breach", "hack",
                           "event", "crisis", "intrusion", "compromise", "cyberattack"}),
    "meeting": frozenset({"meeting", "summit", "conference", "event", "gathering"}),
}
# Subjects a pronoun at the start of a sentence can stand for.
_PRONOUN_TYPES = frozenset({"Initiative", "Actor", "FundingInstrument"})
_ACRONYM_RE = re.compile(r"^(?=.*[A-Z].*[A-Z])[A-Za-z0-9²&/\-]{2,15}s?$")
_HEADING_RE = re.compile(r"^(question|chapter|section|article|annex|part|update)\b", re.I)
_DIGITS_RE = re.compile(r"^[\d\s.,:/%€$-]+$")
_NUMBERED_RE = re.compile(r"\d|\b[IVX]{1,4}\b|\b(january|february|march|april|may|june|july|"
                          r"august|september|october|november|december)\b", re.I)


# --------------------------------------------------------------------------------------------
# The registry index: cached lookups of surface forms, shared by every component.


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es" if not word.endswith("s") else word
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _variants(form: str) -> set[str]:
    """Surface variants of a registry form: plural of the last word, hyphen/space swaps."""
    out = {form}
    words = form.split()
    if words and words[-1].isalpha() and words[-1].islower():
        out.add(" ".join([*words[:-1], _plural(words[-1])]))
    if len(words) >= 4:
        # "action plan for (the) cybersecurity of hospitals": determiners come and go
        bare = re.sub(r"\b(the|a|an) ", "", form)
        out.add(bare)
        out.add(re.sub(r"\b(of|for|on|against|in) (?!the )", r"\1 the ", bare, count=1))
    for v in list(out):
        if "'" in v:
            out.add(v.replace("'", "\u2019"))
        if "\u2019" in v:
            out.add(v.replace("\u2019", "'"))
    for v in list(out):
        if "-" in v:
            out.add(v.replace("-", " "))
            out.add(v.replace("-", ""))
        if " " in v and len(words) == 2 and not any(w[:1].isupper() for w in words):
            out.add(v.replace(" ", "-"))
    return out


def is_acronym(form: str) -> bool:
    """Single-token forms with two or more capitals (ENISA, NIS2, eIDAS, CERT-EU)."""
    return " " not in form and bool(_ACRONYM_RE.match(form))


@dataclass(eq=False)
class RegistryIndex:
    """Normalised surface forms of the registry, with the cached lookups the components use."""

    ontology: Ontology

    def __post_init__(self) -> None:
        self.surfaces: dict[str, RegistryEntry] = {}
        for entry in self.ontology.registry:
            for form in entry.surface_forms:
                for variant in _variants(form):
                    self.surfaces.setdefault(normalise(variant), entry)
        # exact surface forms win over generated variants
        for form, entries in self.ontology.by_surface().items():
            self.surfaces[form] = entries[0]
        self.by_name = {normalise(e.name): e for e in self.ontology.registry}
        self._fuzzy_choices = [s for s in self.surfaces if len(s) >= 8 and " " in s]
        self.lookup = lru_cache(maxsize=50_000)(self._lookup)  # type: ignore[method-assign]
        self.fuzzy = lru_cache(maxsize=20_000)(self._fuzzy)  # type: ignore[method-assign]

    def _lookup(self, text: str) -> RegistryEntry | None:
        key = normalise(text).replace("\u2019", "'")
        if key.endswith("'s"):
            key = key[:-2]
        elif key.endswith("'"):
            key = key[:-1]
        for candidate in (key, key.rstrip(".,;:"), key.replace("-", " "), key.replace(" - ", "-")):
            if candidate in self.surfaces:
                return self.surfaces[candidate]
        words = key.split()
        if words:
            singular = " ".join([*words[:-1], _singular(words[-1])])
            if singular in self.surfaces:
                return self.surfaces[singular]
        return None

    def _fuzzy(self, text: str, cutoff: float = 92.0) -> RegistryEntry | None:
        """Near-miss spelling of a long registry name (never used for short or one-word names),
        word for word: "National Cybersecurity Strategy" is not a misspelt "US National
        Cybersecurity Strategy", nor "National Cyber Security Centre" a misspelt "Nationaal
        Cyber Security Centrum"."""
        key = normalise(text)
        if len(key) < 8 or " " not in key or not self._fuzzy_choices:
            return None
        words = key.split()
        for choice, _, _ in process.extract(key, self._fuzzy_choices, scorer=fuzz.ratio,
                                            score_cutoff=cutoff, limit=5):
            theirs = choice.split()
            if len(theirs) == len(words) and all(
                    fuzz.ratio(a, b) >= 80 for a, b in zip(words, theirs, strict=True)):
                return self.surfaces[choice]  # "defense", "organization": one word's spelling
        return None


_INDEXES: dict[int, RegistryIndex] = {}


def registry_index(ontology: Ontology) -> RegistryIndex:
    """One index per ontology object, built on first use."""
    index = _INDEXES.get(id(ontology))
    if index is None or index.ontology is not ontology:
        index = RegistryIndex(ontology)
        _INDEXES[id(ontology)] = index
    return index


def _ontology_for(path: str) -> Ontology:
    return load_ontology(path) if path else default_ontology()


def _key_of(token: Token) -> str:
    """The comparison form of a token for lemma work: its lemma if the pipeline set one."""
    return (token.lemma_ or _singular(token.lower_)).lower()


def _replace_ents(doc: Doc, new: Sequence[Span], *, keep_existing_on_conflict: bool) -> None:
    """Merge `new` spans into `doc.ents`; on overlap the existing or the new span wins."""
    existing = list(doc.ents)
    if keep_existing_on_conflict:
        taken = [(e.start, e.end) for e in existing]
        extra = [s for s in new if not any(s.start < b and a < s.end for a, b in taken)]
        doc.ents = filter_spans(existing + extra)
    else:
        kept = [e for e in existing if not any(e.start < s.end and s.start < e.end for s in new)]
        doc.ents = filter_spans(kept + list(new))


# --------------------------------------------------------------------------------------------
# (0) Paragraph and bullet boundaries are sentence boundaries.


@Language.factory("policykg_paragraphs", assigns=["token.is_sent_start"])
def make_paragraphs(nlp: Language, name: str) -> ParagraphSplitter:
    return ParagraphSplitter()


class ParagraphSplitter:
    """Headings and bullets have no full stop; a blank line or a new bullet starts a sentence."""

    def __call__(self, doc: Doc) -> Doc:
        for i, token in enumerate(doc[:-1]):
            if token.is_space and "\n" in token.text:
                doc[i + 1].is_sent_start = True
            elif "\n" in token.whitespace_ or token.text.endswith("\n"):
                nxt = doc[i + 1]
                if nxt.text in {"-", "•", "*", "–"} or token.text in {":", ";"}:
                    nxt.is_sent_start = True
        return doc


# --------------------------------------------------------------------------------------------
# (a) The ontology ruler: registry names ahead of the statistical NER.


@Language.factory(
    "policykg_ruler",
    assigns=["doc.ents"],
    default_config={"ontology_path": "", "term_heads": list(DEFAULT_TERM_HEADS)},
)
def make_ruler(nlp: Language, name: str, ontology_path: str,
               term_heads: list[str]) -> OntologyRuler:
    return OntologyRuler(nlp, name, ontology_path=ontology_path, term_heads=term_heads)


class OntologyRuler:
    """Phrase-matches every registry surface form: long names on LOWER with plural and
    hyphen variants, acronyms and capitalised single words on exact case."""

    def __init__(self, nlp: Language, name: str, *, ontology_path: str = "",
                 term_heads: Iterable[str] = DEFAULT_TERM_HEADS) -> None:
        self.nlp = nlp
        self.name = name
        self.ontology_path = ontology_path
        self.term_heads = frozenset(term_heads)
        self.index: RegistryIndex | None = None

    def initialize(self, get_examples=None, *, nlp: Language | None = None,
                   ontology: Ontology | None = None) -> None:
        onto = ontology or _ontology_for(self.ontology_path)
        self.index = registry_index(onto)
        self.lower = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.exact = PhraseMatcher(self.nlp.vocab, attr="ORTH")
        self.entries: dict[str, RegistryEntry] = {}
        lower_forms: dict[str, set[str]] = {}
        exact_forms: dict[str, set[str]] = {}
        for entry in onto.registry:
            self.entries[entry.key] = entry
            for form in entry.surface_forms:
                single_cap = " " not in form and any(c.isupper() for c in form)
                target = exact_forms if (is_acronym(form) or single_cap) else lower_forms
                target.setdefault(entry.key, set()).update(_variants(form))
        for forms in exact_forms.values():
            # headings in capitals: "THE COUNCIL", "COMMISSION"
            forms.update(f.upper() for f in list(forms) if f[:1].isupper() and f[1:].islower()
                         and len(f) > 3)
        make = self.nlp.make_doc
        for key, forms in lower_forms.items():
            self.lower.add(key, [make(f) for f in sorted(forms)])
        for key, forms in exact_forms.items():
            self.exact.add(key, [make(f) for f in sorted(forms)])

    def _ensure(self) -> None:
        if self.index is None:
            self.initialize()

    def __call__(self, doc: Doc) -> Doc:
        self._ensure()
        vocab = doc.vocab.strings
        spans = []
        for matcher in (self.lower, self.exact):
            for match_id, start, end in matcher(doc):
                if _in_citation(doc, start, end):
                    continue
                entry = self.entries[vocab[match_id]]
                if not _term_ok(doc, start, end, entry):
                    continue
                if entry.type in ("Sector", "Threat"):
                    end = _extend_head(doc, end, self.term_heads)
                spans.append(Span(doc, start, end, label=entry.type, kb_id=entry.name,
                                  span_id=METHOD_REGISTRY))
        if spans:
            kept = filter_spans(spans)
            _replace_ents(doc, kept, keep_existing_on_conflict=False)
            nested = _nested(kept, spans)
            if nested:
                doc.spans[NESTED_KEY] = nested
        return doc


NESTED_KEY = "policykg_nested"
# Which registry names may be mentioned inside which longer names: the war names its
# aggressor, the action plan names the sector it covers.
NESTED_TYPES: dict[str, frozenset[str]] = {
    "Event": frozenset({"Actor", "Location"}),
    "Initiative": frozenset({"Sector", "Threat"}),
}


def _nested(kept: Sequence[Span], spans: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for outer in kept:
        inner_types = NESTED_TYPES.get(outer.label_)
        if not inner_types or len(outer) < 2:
            continue
        for span in spans:
            if (outer.start <= span.start and span.end <= outer.end and len(span) < len(outer)
                    and span.label_ in inner_types
                    and not any(s.start <= span.start and span.end <= s.end
                                and s.kb_id_ == span.kb_id_ for s in out)):
                out.append(span)
    return out


def _in_citation(doc: Doc, start: int, end: int) -> bool:
    """"Directive (EU) 2022/2555": the bracketed EU of a legal citation names no actor."""
    return (end - start == 1 and start > 0 and end + 1 < len(doc) and doc[start - 1].text == "("
            and doc[end].text == ")" and any(c.isdigit() for c in doc[end + 1].text))


_ORG_HEADS = frozenset(DEFAULT_TYPE_HEADS["Actor"]) | frozenset(
    _plural(w) for w in DEFAULT_TYPE_HEADS["Actor"])
_BARE = frozenset(DEFAULT_BARE_TERMS)
# Lower-case words inside a capitalised name ("Conclusions on Cyber Diplomacy").
_NAME_LINKS = frozenset({"of", "for", "on", "and"})


def _capitalised(token: Token) -> bool:
    return token.is_alpha and token.text[0].isupper() and not token.is_sent_start


def _join_dangling(doc: Doc, ents: list[Span]) -> list[Span]:
    """NER stops a name where an earlier match begins: "Ministry of" + "Defence" (a sector),
    "Cyber Command of" + "the Armed Forces". A name ending in "of" or "for" takes the
    capitalised name after it; one that cannot is no name."""
    ents = sorted(ents, key=lambda e: e.start)
    out: list[Span] = []
    skip: set[int] = set()
    for n, ent in enumerate(ents):
        if n in skip:
            continue
        if ent.id_ != METHOD_NER or ent[-1].lower_ not in {"of", "for"}:
            out.append(ent)
            continue
        gap = 1 if ent.end < len(doc) and doc[ent.end].lower_ == "the" else 0
        nxt = ents[n + 1] if n + 1 < len(ents) else None
        if nxt is not None and nxt.start == ent.end + gap and nxt[0].text[:1].isupper():
            out.append(Span(doc, ent.start, nxt.end, label=ent.label_, span_id=METHOD_NER))
            skip.add(n + 1)
    return out


def _modifier_in_name(ent: Span, name: Span, name_type: str) -> bool:
    """A place ("Riga Cyber Roadmap"), or an acronym opening the name of a thing that is not
    itself a body ("EU Cyber Commanders Conference"), is part of that name."""
    if ent.label_ == "Location":
        return True
    return (ent.label_ == "Actor" and name_type != "Actor" and ent.start == name.start
            and all(t.is_upper for t in ent if t.is_alpha))


def _located(name: Span) -> bool:
    """A place a thing happens in: the object of "in", "at" or "near"."""
    return name.root.dep_ == "pobj" and name.root.head.lower_ in {"in", "at", "near"}


def _plural_head(name: Span) -> bool:
    """Whether a name ends in a plural body word ("... Teams", "... Authorities")."""
    last = name[-1].lower_
    return last in _ORG_HEADS and _singular(last) != last


# Head words of publications, which the ontology does not model (the registry may still name
# a series such as the ENISA Threat Landscape).
_PUBLICATIONS = frozenset({"assessment", "assessments", "report", "reports", "study",
                           "studies", "survey", "review", "insight", "brief", "briefing"})


# NER types a name's head word may overrule: an ORG called "... Act" is a law, a LAW called
# "... Agency" a body.
_HEAD_TYPED = frozenset({"Actor", "Initiative", "Event"})
_NOUN_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "compound", "attr", "appos",
                        "conj", "npadvmod"})


def _term_ok(doc: Doc, start: int, end: int, entry: RegistryEntry) -> bool:
    """Registry matches that name nothing: a bare generic term ("vulnerability"), a one-word
    sector or threat used as a verb or adjective ("manufacturing or maintaining",
    "medium-sized"), a sector inside an organisation's name ("computer emergency response
    teams"), and "Union" used as a modifier ("Union law", "at Union level")."""
    span = doc[start:end]
    if entry.type in ("Sector", "Threat"):
        if span.text.lower() in _BARE:
            return False
        last = doc[end - 1]
        if end - start == 1 and last.pos_ and (
                last.pos_ in {"ADJ", "ADV", "ADP", "DET", "PRON"}
                or (last.pos_ in {"VERB", "AUX"} and last.dep_ not in _NOUN_DEPS)):
            return False
        if end < len(doc) and doc[end].text in {"-", "‐", "‑"} and end + 1 < len(doc) \
                and doc[end + 1].is_alpha and not doc[end - 1].whitespace_:
            return False
        if entry.type == "Sector" and end < len(doc) and doc[end].lower_ in _ORG_HEADS:
            return False
    elif entry.type == "Actor" and end - start == 1 and span.text == "Union" and span[0].dep_:
        tok = span[0]
        acting = tok.dep_ in {"nsubj", "nsubjpass"} or (tok.dep_ == "pobj"
                                                         and tok.head.dep_ == "agent")
        return acting
    return True


def _extend_head(doc: Doc, end: int, heads: frozenset[str]) -> int:
    if end < len(doc) and _key_of(doc[end]) in heads and doc[end].is_alpha:
        return end + 1
    return end


# --------------------------------------------------------------------------------------------
# (d) Lemma-based sector and threat terms ("talent shortages" -> skills shortage).


@Language.factory(
    "policykg_terms",
    requires=["token.lemma"],
    assigns=["doc.ents"],
    default_config={"ontology_path": "", "term_heads": list(DEFAULT_TERM_HEADS)},
)
def make_terms(nlp: Language, name: str, ontology_path: str, term_heads: list[str]) -> TermMatcher:
    return TermMatcher(nlp, name, ontology_path=ontology_path, term_heads=term_heads)


class TermMatcher:
    """Matches Sector and Threat registry forms on lemmas, so inflected and plural forms of
    multi-word terms resolve ("health systems", "talent shortages", "ransomware gangs")."""

    def __init__(self, nlp: Language, name: str, *, ontology_path: str = "",
                 term_heads: Iterable[str] = DEFAULT_TERM_HEADS) -> None:
        self.nlp = nlp
        self.name = name
        self.ontology_path = ontology_path
        self.term_heads = frozenset(term_heads)
        self.patterns: dict[tuple[str, ...], RegistryEntry] | None = None

    def initialize(self, get_examples=None, *, nlp: Language | None = None,
                   ontology: Ontology | None = None) -> None:
        onto = ontology or _ontology_for(self.ontology_path)
        pipeline = nlp or self.nlp
        forms: list[tuple[str, RegistryEntry]] = []
        for entry in onto.registry:
            if entry.type in ("Sector", "Threat"):
                forms.extend((f, entry) for f in entry.surface_forms if not is_acronym(f))
        lemmatise = _lemmatiser(pipeline)
        self.patterns = {}
        for (_form, entry), lemmas in zip(forms, lemmatise([f for f, _ in forms]), strict=True):
            if lemmas:
                self.patterns.setdefault(lemmas, entry)
        self.first = {p[0] for p in self.patterns}
        self.max_len = max((len(p) for p in self.patterns), default=0)

    def __call__(self, doc: Doc) -> Doc:
        if self.patterns is None:
            self.initialize()
        assert self.patterns is not None
        keys = [_key_of(t) for t in doc]
        spans = []
        i = 0
        n = len(doc)
        while i < n:
            if keys[i] in self.first:
                for length in range(min(self.max_len, n - i), 0, -1):
                    entry = self.patterns.get(tuple(keys[i:i + length]))
                    if entry is not None and not _term_ok(doc, i, i + length, entry):
                        entry = None
                        continue
                    if entry is not None:
                        end = _extend_head(doc, i + length, self.term_heads)
                        spans.append(Span(doc, i, end, label=entry.type, kb_id=entry.name,
                                          span_id=METHOD_LEMMA))
                        i = end - 1
                        break
            i += 1
        if spans:
            _replace_ents(doc, spans, keep_existing_on_conflict=True)
        return doc


def _lemmatiser(nlp: Language):
    """Lemmatise pattern strings with the pipeline's own tagger and lemmatizer (if any)."""
    wanted = [n for n in nlp.pipe_names if n in {"tok2vec", "tagger", "attribute_ruler",
                                                  "lemmatizer", "morphologizer"}]

    def run(texts: list[str]) -> list[tuple[str, ...]]:
        if not wanted:
            return [tuple(_key_of(t) for t in nlp.make_doc(t)) for t in texts]
        out = []
        with nlp.select_pipes(enable=wanted):
            for doc in nlp.pipe(texts, batch_size=256):
                out.append(tuple(_key_of(t) for t in doc))
        return out

    return run


# --------------------------------------------------------------------------------------------
# (b) "long form (ACRO)" and "ACRO (long form)": the document teaches its own aliases.


@Language.factory(
    "policykg_acronyms",
    requires=["doc.ents"],
    assigns=["doc.ents"],
    default_config={"ontology_path": ""},
)
def make_acronyms(nlp: Language, name: str, ontology_path: str) -> AcronymResolver:
    return AcronymResolver(nlp, name, ontology_path=ontology_path)


def _initials_match(short: str, long_tokens: Sequence[str]) -> int:
    """How many trailing tokens of `long_tokens` form the long form of `short`, or 0.

    Schwartz & Hearst's backward match: every letter of the acronym is found, in order, in
    the long form, and the first one starts a word."""
    letters = [c.lower() for c in short if c.isalnum()]
    if short.endswith("s") and len(letters) > 2 and short[:-1].isupper():
        letters = letters[:-1]  # ESAs, CSIRTs
    if not letters:
        return 0
    max_tokens = min(len(long_tokens), len(letters) + 5)
    for size in range(1, max_tokens + 1):
        words = long_tokens[-size:]
        if words[0].lower() in _PREPOSITIONS or not words[0][:1].isalnum():
            continue
        text = " ".join(words).lower()
        if _sh_match(letters, text) and words[0][0].lower() == letters[0]:
            content = [w for w in words if w.lower() not in _PREPOSITIONS and w[:1].isalpha()]
            if len(content) <= len(letters) + 2:
                return size
    return 0


def _sh_match(letters: list[str], text: str) -> bool:
    li = len(letters) - 1
    ti = len(text) - 1
    while li >= 0:
        c = letters[li]
        while ti >= 0 and (text[ti] != c or (li == 0 and ti > 0 and text[ti - 1].isalnum())):
            ti -= 1
        if ti < 0:
            return False
        ti -= 1
        li -= 1
    return True


def _type_from_head(words: Sequence[str], type_heads: dict[str, tuple[str, ...]]) -> str | None:
    head = words[-1]
    for i, w in enumerate(words):
        if i > 0 and w.lower() in {"of", "for", "on", "against"}:
            head = words[i - 1]
            break
    head = head.lower()
    for etype, heads in type_heads.items():
        if head in heads or _singular(head) in heads:
            return etype
    return None


class AcronymResolver:
    """Finds definitions "long form (ACRO)" / "ACRO (long form)" and labels the definition and
    every later bare use of the acronym as one entity. A definition whose either side is in the
    registry resolves to that entry; otherwise the long form is the canonical name and its type
    comes from NER or from the long form's head word ("... Centre" -> Actor)."""

    def __init__(self, nlp: Language, name: str, *, ontology_path: str = "",
                 type_heads: dict[str, tuple[str, ...]] | None = None) -> None:
        self.nlp = nlp
        self.name = name
        self.ontology_path = ontology_path
        self.type_heads = type_heads or DEFAULT_TYPE_HEADS
        self.index: RegistryIndex | None = None

    def initialize(self, get_examples=None, *, nlp: Language | None = None,
                   ontology: Ontology | None = None) -> None:
        self.index = registry_index(ontology or _ontology_for(self.ontology_path))

    def definitions(self, doc: Doc) -> list[tuple[Span, Span]]:
        """(long form, acronym) span pairs defined in the document."""
        found = []
        for i, tok in enumerate(doc):
            if tok.text != "(":
                continue
            close = next((j for j in range(i + 1, min(i + 25, len(doc))) if doc[j].text == ")"),
                         None)
            if close is None or close == i + 1:
                continue
            inner = doc[i + 1:close]
            inner_text = inner.text
            if is_acronym(inner_text.replace(" ", "")) and len(inner) <= 3 \
                    and " " not in inner_text.strip():
                start = max(tok.sent.start, i - 20)
                words = [t.text for t in doc[start:i]]
                size = _initials_match(inner_text, words)
                if size:
                    found.append((doc[i - size:i], inner))
            elif i > 0 and is_acronym(doc[i - 1].text) and len(inner) >= 2:
                words = [t.text for t in inner]
                size = _initials_match(doc[i - 1].text, words)
                if size == len(words):
                    found.append((inner, doc[i - 1:i]))
        return found

    def __call__(self, doc: Doc) -> Doc:
        if self.index is None:
            self.initialize()
        assert self.index is not None
        defs = self.definitions(doc)
        if not defs:
            return doc
        ents_by_token = {t: e for e in doc.ents for t in range(e.start, e.end)}
        known: dict[str, tuple[str, str, str]] = {}  # acronym -> (type, name, method)
        new: list[Span] = []
        for long_span, acro_span in defs:
            acro = acro_span.text
            entry = self.index.lookup(acro_span.text) if is_acronym(acro) else None
            long_entry = self.index.lookup(long_span.text) or self.index.fuzzy(long_span.text)
            entry = long_entry or entry
            if entry is not None:
                label, name, method = entry.type, entry.name, METHOD_REGISTRY
            else:
                ner = ents_by_token.get(long_span.root.i)
                label = None
                if ner is not None and ner.label_ in {"Actor", "Initiative", "FundingInstrument",
                                                      "Event", "Location"}:
                    label = ner.label_
                label = _type_from_head([t.text for t in long_span], self.type_heads) or label
                if label is None and ner is not None and ner.label_ in {"ORG", "LAW", "EVENT"}:
                    label = {"ORG": "Actor", "LAW": "Initiative", "EVENT": "Event"}[ner.label_]
                name = _clean_long_form(long_span.text)
                if label is None or normalise(name) in _GENERIC_NORMALISED \
                        or " as a " in name.lower():
                    continue
                if acro.endswith("s") and acro[-2:-1].isupper() and len(acro) > 2:
                    continue  # "SOCs", "EUIBAs": a plural class of bodies, not one body
                method = METHOD_ACRONYM
            assert label is not None
            known[acro] = (label, name, method)
            new.append(Span(doc, long_span.start, long_span.end, label=label, kb_id=name,
                            span_id=method))
        if known:
            for tok in doc:
                if tok.text in known:
                    label, name, method = known[tok.text]
                    new.append(Span(doc, tok.i, tok.i + 1, label=label, kb_id=name,
                                    span_id=method))
            existing = [e for e in doc.ents if e.id_ == METHOD_REGISTRY]
            new = [s for s in new
                   if not any(s.start < e.end and e.start < s.end for e in existing)]
            _replace_ents(doc, filter_spans(new), keep_existing_on_conflict=False)
        return doc


def _clean_long_form(text: str) -> str:
    text = " ".join(text.split())
    if text.lower().startswith("the "):
        text = text[4:]
    return text


# --------------------------------------------------------------------------------------------
# (c) Statistical NER labels onto ontology types, with noise filters.


@Language.factory(
    "policykg_ner_mapper",
    requires=["doc.ents"],
    assigns=["doc.ents"],
    default_config={"ontology_path": "", "generic": list(DEFAULT_GENERIC)},
)
def make_ner_mapper(nlp: Language, name: str, ontology_path: str,
                    generic: list[str]) -> NerMapper:
    return NerMapper(nlp, name, ontology_path=ontology_path, generic=generic)


class NerMapper:
    """Relabels NER spans (ORG, GPE, LAW...) with the ontology type that lists them in
    `spacy_labels`, or the one their head word names ("... Act", "... Agency"); drops dates,
    numbers, people, pronouns, CAPS headings and generic classes; adds the capitalised names
    NER missed whose head word gives their type."""

    def __init__(self, nlp: Language, name: str, *, ontology_path: str = "",
                 generic: Iterable[str] = DEFAULT_GENERIC) -> None:
        self.nlp = nlp
        self.name = name
        self.ontology_path = ontology_path
        self.generic = frozenset(normalise(g) for g in generic)
        self.generic_words = frozenset(
            [*(w for heads in DEFAULT_TYPE_HEADS.values() for w in heads),
             *(_plural(w) for heads in DEFAULT_TYPE_HEADS.values() for w in heads),
             "european", "europeans", "action", "national", "joint", "new", "global", "eu"])
        self.mapping: dict[str, str] | None = None
        self.types: frozenset[str] = frozenset()

    def initialize(self, get_examples=None, *, nlp: Language | None = None,
                   ontology: Ontology | None = None) -> None:
        onto = ontology or _ontology_for(self.ontology_path)
        self.mapping = {}
        for etype in onto.entity_types.values():
            for label in etype.spacy_labels:
                self.mapping.setdefault(label, etype.name)
        self.types = frozenset(onto.entity_types)

    def keep(self, span: Span) -> Span | None:
        """The cleaned span if it can name an entity, else None."""
        start, end = span.start, span.end
        doc = span.doc
        while start < end and (doc[start].lower_ in {"the", "a", "an", "this", "that", "its",
                                                     "their", "our"}
                               or doc[start].is_punct or doc[start].is_space):
            start += 1
        while end > start and (doc[end - 1].is_punct or doc[end - 1].is_space
                               or doc[end - 1].lower_ in {"'s", "’s", "'"}):
            end -= 1
        if end <= start:
            return None
        core = doc[start:end]
        text = core.text
        if "\n" in text or len(text) < 2 or _DIGITS_RE.match(text) or _HEADING_RE.match(text):
            return None
        if any(t.pos_ == "PRON" or t.like_num and len(core) == 1 for t in core):
            return None
        words = [t for t in core if t.is_alpha]
        if not words:
            return None
        if len(words) >= 2 and all(t.is_upper for t in words):
            return None  # headings in CAPS
        if text.islower():
            return None
        if normalise(text) in self.generic:
            return None
        if "," in text or _NUMBERED_RE.search(text) or " as a " in text.lower():
            return None  # "Chapters III", "Recital 68", lists, "Software as a Service"
        if all(t.lower_ in self.generic_words for t in words):
            return None  # "Directive", "Action Plan": back-references, not names
        if text.lower() in _PRODUCTS:
            return None  # "Windows", "Falcon": products, not actors or places
        if words[0].is_upper and words[0].lower_ in _OPERATIVE:
            return None  # "INVITES the", "CALLS ON": an operative verb of Council conclusions
        if words[0].lower_ in _ROLES and (len(words) == 1 or words[1].lower_ in {"of", "and"}
                                          or all(t.lower_ in _ROLES for t in words)
                                          or core.root.lower_ in _ROLES):
            return None  # "Heads of State and Government", "Ministers": roles, not entities
        if any(t.tag_ == "VB" for t in core) or core[0].tag_ in {"RB", "RBR", "VBP", "VBZ"}:
            return None  # "How to Better Manage Cyber Crises": a heading's clause
        if len(core) == 1 and core[0].tag_ == "NNS":
            return None  # "Pledges": a plural common noun in capitals
        if core[-1].lower_ in _PUBLICATIONS:
            return None  # "its Threat Assessment": a publication, not a body or initiative
        return core

    def __call__(self, doc: Doc) -> Doc:
        if self.mapping is None:
            self.initialize()
        assert self.mapping is not None
        for tok in doc:
            if tok.is_upper and tok.lower_ in _OPERATIVE:
                # the tagger reads "ENCOURAGES the Commission to ..." as a name; the rules
                # after it need the verb ("encourage" controls who does what follows)
                tok.pos_, tok.tag_ = "VERB", "VBZ"
                tok.lemma_ = tok.lower_[:-2] if tok.lower_.endswith("sses") else tok.lower_[:-1]
        out = []
        for ent in doc.ents:
            if ent.label_ in self.types:
                out.append(ent)
                continue
            etype = self.mapping.get(ent.label_)
            if etype is None:
                continue
            core = self.keep(ent)
            if core is not None:
                if len(core) == 1 and core.root.dep_ == "amod":
                    continue  # "several Allied nations": a name used as an adjective
                if ent.label_ == "GPE" and etype == "Actor" and _located(core):
                    etype = "Location"  # "gathered in Washington": the place, not the state
                if etype in _HEAD_TYPED:  # "Conclusions on Cyber Diplomacy" is no ORG
                    etype = _type_from_head([t.text for t in core], DEFAULT_TYPE_HEADS) or etype
                    if etype == "Actor" and _plural_head(core):
                        continue  # "Competent Authorities": a class of bodies, not one
                out.append(Span(doc, core.start, core.end, label=etype, span_id=METHOD_NER))
        doc.ents = self._named_by_head(doc, _join_dangling(doc, out))
        return doc

    def _named_by_head(self, doc: Doc, ents: list[Span]) -> list[Span]:
        """Add the capitalised names NER missed whose head word gives their type ("Riga Cyber
        Roadmap", "EU Cyber Commanders Conference"); a place inside one, or a body's acronym
        opening it, is a modifier of the name; any other entity inside keeps the name out."""
        owner = {i: e for e in ents for i in range(e.start, e.end)}
        added: list[Span] = []
        dropped: set[Span] = set()
        i = 0
        while i < len(doc):
            if not _capitalised(doc[i]):
                i += 1
                continue
            j = i + 1
            while j < len(doc) and (_capitalised(doc[j]) or (
                    doc[j].lower_ in _NAME_LINKS and j + 1 < len(doc)
                    and _capitalised(doc[j + 1]) and doc[j + 1].lower_ != "the")):
                j += 1
            run, i = doc[i:j], j
            if len(run) < 2 or run[-1].lower_ in _NAME_LINKS:
                continue
            etype = _type_from_head([t.text for t in run], DEFAULT_TYPE_HEADS)
            if etype == "Actor" and _plural_head(run):
                continue  # "Military Computer Emergency Response Teams": a class of bodies
            inside = {owner[k] for k in range(run.start, run.end) if k in owner}
            if etype is None or any(e.start < run.start or e.end > run.end
                                    or not _modifier_in_name(e, run, etype) for e in inside):
                continue
            core = self.keep(run)
            if core is None or len([t for t in core if t.is_alpha]) < 2 or core.end != run.end:
                continue
            added.append(Span(doc, core.start, core.end, label=etype, span_id=METHOD_NER))
            dropped |= inside
        if not added:
            return ents
        return sorted([e for e in ents if e not in dropped] + added, key=lambda e: e.start)


# --------------------------------------------------------------------------------------------
# (e) Canonical names: registry alias lookup, then fuzzy matching of unresolved spans only.


@Language.factory(
    "policykg_canonicaliser",
    requires=["doc.ents"],
    assigns=["doc.ents"],
    default_config={"ontology_path": "", "fuzzy_cutoff": 92.0},
)
def make_canonicaliser(nlp: Language, name: str, ontology_path: str,
                       fuzzy_cutoff: float) -> Canonicaliser:
    return Canonicaliser(nlp, name, ontology_path=ontology_path, fuzzy_cutoff=fuzzy_cutoff)


class Canonicaliser:
    """Gives every entity span its canonical name (`kb_id_`) and, for registry entries, the
    registry's type. Spans not in the registry keep their cleaned text as name."""

    def __init__(self, nlp: Language, name: str, *, ontology_path: str = "",
                 fuzzy_cutoff: float = 92.0) -> None:
        self.nlp = nlp
        self.name = name
        self.ontology_path = ontology_path
        self.fuzzy_cutoff = fuzzy_cutoff
        self.index: RegistryIndex | None = None

    def initialize(self, get_examples=None, *, nlp: Language | None = None,
                   ontology: Ontology | None = None) -> None:
        self.index = registry_index(ontology or _ontology_for(self.ontology_path))

    def resolve(self, text: str) -> RegistryEntry | None:
        assert self.index is not None
        return self.index.lookup(text) or self.index.fuzzy(text, self.fuzzy_cutoff)

    def __call__(self, doc: Doc) -> Doc:
        if self.index is None:
            self.initialize()
        out = []
        changed = False
        for ent in doc.ents:
            if ent.kb_id_:
                out.append(ent)
                continue
            changed = True
            entry = self.resolve(ent.text)
            if entry is not None:
                method = ent.id_ or METHOD_NER
                out.append(Span(doc, ent.start, ent.end, label=entry.type, kb_id=entry.name,
                                span_id=method))
            elif (ent.id_ or METHOD_NER) == METHOD_NER and len(ent) == 1 and is_acronym(ent.text):
                continue  # an acronym neither in the registry nor defined in the document
            else:
                out.append(Span(doc, ent.start, ent.end, label=ent.label_,
                                kb_id=_clean_long_form(ent.text), span_id=ent.id_ or METHOD_NER))
        if changed:
            doc.ents = out
        return doc


# --------------------------------------------------------------------------------------------
# (e2) Light coreference: definite descriptions and subject pronouns that point back.

METHOD_COREF = "coref"
_HEAD_SPLIT = {"of", "for", "on", "against", "in", "to", "at", "with", "from"}


def name_head(name: str) -> str | None:
    """The head noun of a name, lower case: "Action Plan on Military Mobility 2.0" -> plan,
    "European Union Agency for Cybersecurity" -> agency; None for acronyms."""
    words = re.findall(r"[A-Za-z][\w'’-]*", name)
    head = None
    for w in words:
        if w.lower() in _HEAD_SPLIT and head is not None:
            break
        if not w.isupper() and not any(c.isdigit() for c in w) and "-" not in w:
            head = w.lower().removesuffix("'s").removesuffix("’s")
    return head


@Language.factory(
    "policykg_coref",
    requires=["doc.ents", "token.dep", "token.lemma"],
    assigns=["doc.ents"],
    default_config={"ontology_path": "", "window": 40},
)
def make_coref(nlp: Language, name: str, ontology_path: str, window: int) -> BackReferences:
    return BackReferences(nlp, name, ontology_path=ontology_path, window=window)


class BackReferences:
    """Resolves back-references to entities already named in the document:
    "the Academy", "the Agency", "the action plan" -> the latest Initiative or Actor whose
    name (or registry alias) has that head noun; "this Directive" / "this Regulation" -> the
    document's own act (the first one named); "the outage", "the incident", "the summit" ->
    the latest Event of that kind; "It" / "They" opening a sentence -> the subject entity of
    the sentence before. The references join `doc.ents` with `id_` "coref"; they add
    mentions, never new entities."""

    def __init__(self, nlp: Language, name: str, *, ontology_path: str = "",
                 window: int = 40) -> None:
        self.nlp = nlp
        self.name = name
        self.ontology_path = ontology_path
        self.window = window
        self.index: RegistryIndex | None = None
        self._heads: dict[tuple[str, str], frozenset[str]] = {}

    def initialize(self, get_examples=None, *, nlp: Language | None = None,
                   ontology: Ontology | None = None) -> None:
        self.index = registry_index(ontology or _ontology_for(self.ontology_path))

    def heads(self, label: str, name: str) -> frozenset[str]:
        cached = self._heads.get((label, name))
        if cached is not None:
            return cached
        assert self.index is not None
        forms = [name]
        entry = self.index.by_name.get(normalise(name))
        if entry is not None and entry.type == label:
            forms.extend(entry.aliases)
        heads = {h for h in (name_head(f) for f in forms) if h}
        heads |= {_singular(h) for h in heads}
        if label == "Event":
            for group in _EVENT_HEADS.values():
                if heads & group:
                    heads |= group
        out = frozenset(heads)
        self._heads[(label, name)] = out
        return out

    def __call__(self, doc: Doc) -> Doc:
        if self.index is None:
            self.initialize()
        ents = list(doc.ents)
        if not ents:
            return doc
        taken = {t for e in ents for t in range(e.start, e.end)}
        starts = {e.start: e for e in ents}
        seen: list[tuple[int, Span]] = []  # (sentence number, entity) in text order
        first_of: dict[tuple[str, str], int] = {}
        new: list[Span] = []
        prev_subject: Span | None = None
        for n, sent in enumerate(doc.sents):
            subject: Span | None = None
            for tok in sent:
                ent = starts.get(tok.i)
                if ent is not None:
                    if ent.label_ in {"Initiative", "Actor", "Event", "FundingInstrument"} \
                            and ent.kb_id_:
                        seen.append((n, ent))
                        for h in self.heads(ent.label_, ent.kb_id_):
                            first_of.setdefault((ent.label_, h), len(seen) - 1)
                    if subject is None and ent.root.dep_ in {"nsubj", "nsubjpass"} \
                            and ent.label_ in _PRONOUN_TYPES:
                        # a coordinated subject ("A and B adopted ...") is no antecedent of "it"
                        subject = ent if not any(c.dep_ == "conj" for c in ent.root.children) \
                            else sent[0:0]
                    continue
                if tok.i in taken:
                    continue
                span = self.resolve(doc, tok, n, seen, first_of, sent, prev_subject)
                if span is not None:
                    new.append(span)
                    taken.update(range(span.start, span.end))
                    if subject is None and tok.dep_ in {"nsubj", "nsubjpass"} \
                            and span.label_ in _PRONOUN_TYPES:
                        subject = span
            prev_subject = subject
        if new:
            doc.ents = filter_spans(ents + new)
        return doc

    def resolve(self, doc: Doc, tok: Token, n: int, seen: list[tuple[int, Span]],
                first_of: dict[tuple[str, str], int], sent: Span,
                prev_subject: Span | None) -> Span | None:
        if tok.pos_ == "PRON":
            first = next((t for t in sent if not (t.is_punct or t.is_space)), None)
            if (prev_subject is not None and len(prev_subject) and first is not None
                    and first.i == tok.i
                    and tok.lower_ in {"it", "they"} and tok.dep_ in {"nsubj", "nsubjpass"}
                    and (tok.lower_ == "they") == (prev_subject.root.tag_ in {"NNS", "NNPS"})):
                return Span(doc, tok.i, tok.i + 1, label=prev_subject.label_,
                            kb_id=prev_subject.kb_id_, span_id=METHOD_COREF)
            return None
        if tok.pos_ not in {"NOUN", "PROPN"} or tok.dep_ in {"compound", "amod", "nmod"} \
                or tok.tag_ in {"NNS", "NNPS"} or not seen:
            return None
        nxt = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
        if nxt is not None and (nxt.lower_ in {"of", "for", "on", "against", "to"}
                                or nxt.text == "(" or any(c.isdigit() for c in nxt.text)):
            return None  # "the plan for X", "Directive 97/67/EC": a new description
        head = tok.lemma_.lower() or tok.lower_
        # the determiner, with at most two name words between it and the head
        j = tok.i - 1
        between: list[Token] = []
        while j >= sent.start and len(between) < 2 and doc[j].lower_ not in _DEMONSTRATIVES \
                and doc[j].is_alpha and not doc[j].ent_type_:
            between.append(doc[j])
            j -= 1
        if j < sent.start or doc[j].lower_ not in _DEMONSTRATIVES:
            return None
        det = doc[j].lower_
        if det == "this" and tok.text[:1].isupper() and not between:
            # legal self-reference: "this Directive" is the document's own act
            idx = first_of.get(("Initiative", head))
            if idx is not None:
                ent = seen[idx][1]
                return Span(doc, tok.i, tok.i + 1, label=ent.label_, kb_id=ent.kb_id_,
                            span_id=METHOD_COREF)
        for m, ent in reversed(seen):
            if n - m > self.window:
                break
            if head not in self.heads(ent.label_, ent.kb_id_):
                continue
            name_words = set(re.findall(r"[a-z0-9]+", ent.kb_id_.lower()))
            if any(b.lower_ not in name_words for b in between):
                return None
            return Span(doc, tok.i - len(between), tok.i + 1, label=ent.label_,
                        kb_id=ent.kb_id_, span_id=METHOD_COREF)
        return None


# --------------------------------------------------------------------------------------------
# (f) Typed relations from dependency paths between entities of one sentence.


@Language.factory(
    "policykg_relations",
    requires=["doc.ents", "token.dep", "token.lemma"],
    assigns=["doc._.policykg_relations"],
    default_config={"ontology_path": "", "max_path": 8},
)
def make_relations(nlp: Language, name: str, ontology_path: str,
                   max_path: int) -> RelationExtractor:
    return RelationExtractor(nlp, name, ontology_path=ontology_path, max_path=max_path)


_CITATION_WORDS = {"article", "paragraph", "point", "pursuant", "accordance", "annex", "chapter",
                   "recital", "subparagraph", "refer"}
_PARTNER_PREPS = {"with", "between", "among", "amongst", "alongside", "to", "together"}
_GROUP_TRIGGERS = {"compose", "composed", "consist", "comprise", "include"}
# "the SolarWinds hack", "the Colonial Pipeline attack": the name's first word is the victim.
_VICTIM_HEADS = {"attack", "hack", "breach", "compromise", "intrusion", "cyberattack", "leak",
                 "hacks", "intrusions", "attacks"}
# Verbs whose actor is named after "to" or "by": "attributed to APT29", "claimed by LockBit".
_ATTRIBUTION = {"attribute", "claim", "blame", "link"}
# ... of which those whose active subject is a third party, never the perpetrator.
_ATTRIBUTORS = {"attribute", "blame", "link"}
# Headings that introduce what an actor says about the matter at hand.
_ANNOUNCEMENTS = {"update", "statement", "guidance", "advisory", "alert", "response", "message",
                  "note", "declaration", "communiqué", "communique", "notice", "remark",
                  "press release", "release", "bulletin"}


def _verbless(sent: Span) -> bool:
    """A heading, dateline or caption: no finite or base-form verb."""
    return not any(t.tag_ in {"VBD", "VBP", "VBZ", "MD"} for t in sent)
# Nominal attacks and risks: "ransomware attacks against critical infrastructure", "APT28
# campaigns targeting the energy sector", "the main threat to the health sector". Each noun
# names its victim after the prepositions listed with it.
_ATTACK_PREPS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("attack", "cyberattack", "cyber-attack", "intrusion", "hack", "strike",
                     "assault", "raid"), frozenset({"against", "on", "upon"})),
    **dict.fromkeys(("campaign", "operation", "activity", "aggression", "war", "espionage",
                     "sabotage", "spying"), frozenset({"against"})),
    **dict.fromkeys(("threat", "risk", "danger", "menace"), frozenset({"to", "against", "for"})),
}
# Verbs whose subject carries out the attack they govern: "Russia conducted campaigns ...".
_PERPETRATE = {"conduct", "launch", "carry", "mount", "wage", "perpetrate", "orchestrate",
               "pose", "present", "represent", "remain", "be", "become", "constitute", "step",
               "intensify", "increase", "escalate", "continue", "sponsor", "stage"}
# Verbs whose object, not their subject, does what the infinitive after them says.
_OBJECT_CONTROL = {"invite", "call", "encourage", "urge", "ask", "request", "task", "enable",
                   "allow", "empower", "mandate", "require", "oblige", "instruct", "advise",
                   "entrust", "help", "assist", "permit"}
_BETWEEN = {"between", "among", "amongst"}
# Amounts and funding nouns: "EUR 1.6 billion from the Digital Europe Programme".
_MONEY = {"billion", "million", "bn", "eur", "euro", "euros", "€", "funding", "budget", "grant",
          "grants", "contribution", "financing", "co-financing", "money", "appropriation"}
# "Europol, jointly with Eurojust, ...": adverbs that make a "with" a partnership.
_JOINTLY = {"jointly", "together", "closely", "hand"}
_NOMINAL_DEPS = {"compound", "amod", "nmod", "prep", "pobj", "appos", "conj", "cc", "det",
                 "poss", "case", "punct"}


class RelationExtractor:
    """For each pair of entities in a sentence, walks the dependency path between their heads
    and looks for a trigger lemma of a relation type whose source and target types fit. The
    trigger nearest the pair's common ancestor wins. Coordinated entities ("A and B will work
    together") use the verb that governs the coordination; Initiative-Sector pairs joined by a
    preposition inside one noun phrase ("an action plan for ... hospitals") give COVERS, and an
    Initiative whose own name contains a sector covers it ("Postal Services Directive")."""

    def __init__(self, nlp: Language, name: str, *, ontology_path: str = "",
                 max_path: int = 8) -> None:
        self.nlp = nlp
        self.name = name
        self.ontology_path = ontology_path
        self.max_path = max_path
        self.relation_types: list | None = None

    def initialize(self, get_examples=None, *, nlp: Language | None = None,
                   ontology: Ontology | None = None) -> None:
        onto = ontology or _ontology_for(self.ontology_path)
        self.index = registry_index(onto)
        self.relation_types = [r for r in onto.relation_types.values() if not r.fallback]
        self.by_trigger: dict[str, list] = {}
        for rel in self.relation_types:
            for trig in rel.triggers:
                self.by_trigger.setdefault(trig, []).append(rel)
        self.covers = next((r for r in self.relation_types
                            if "Initiative" in r.sources and "Sector" in r.targets), None)
        self.caused = next((r for r in self.relation_types
                            if "Actor" in r.sources and r.targets == {"Event"}
                            and "cause" in r.triggers), None)
        self.cooperates = next((r for r in self.relation_types
                                if r.symmetric and r.sources == {"Actor"}
                                and r.targets == {"Actor"}), None)
        self.held_in = next((r for r in self.relation_types
                             if "Event" in r.sources and "Location" in r.targets), None)
        self.addresses = next((r for r in self.relation_types
                               if r.sources == {"Initiative"} and "Threat" in r.targets), None)
        self.funds = next((r for r in self.relation_types
                           if r.sources == {"FundingInstrument"}), None)
        self.targets = next((r for r in self.relation_types
                             if "Threat" in r.sources and "Sector" in r.targets), None)
        self.responds = next((r for r in self.relation_types
                              if "Actor" in r.sources and r.targets == {"Event"}
                              and "respond" in r.triggers), None)
        self.attack_verbs = frozenset(self.targets.triggers if self.targets else ())
        self._name_sectors: dict[str, tuple[RegistryEntry, ...]] = {}

    def _hostile(self, tok: Token) -> bool:
        """The verb two subjects share, or the one it leads to, attacks ("target", "hit") or
        carries out an attack ("continue to conduct malicious activities against Allies"):
        acting alike is not acting together."""
        while tok.pos_ not in {"VERB", "AUX"} and tok.head.i != tok.i:
            tok = tok.head
        verbs = [tok, *(c for c in tok.children if c.dep_ == "xcomp")]
        for verb in verbs:
            if verb.lemma_.lower() in self.attack_verbs:
                return True
            for obj in (c for c in verb.children if c.dep_ == "dobj"):
                preps = _ATTACK_PREPS.get(obj.lemma_.lower(), frozenset())
                if any(c.dep_ == "prep" and c.lower_ in preps for c in obj.children):
                    return True
        return False

    def sectors_in_name(self, name: str) -> tuple[RegistryEntry, ...]:
        """Sector registry entries named inside an initiative's own name (cached)."""
        cached = self._name_sectors.get(name)
        if cached is not None:
            return cached
        words = re.findall(r"[\w'-]+", name)
        found: list[RegistryEntry] = []
        for n in range(min(5, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                entry = self.index.lookup(" ".join(words[i:i + n]))
                if entry is not None and entry.type == "Sector" and entry not in found:
                    found.append(entry)
        self._name_sectors[name] = tuple(found)
        return self._name_sectors[name]

    def __call__(self, doc: Doc) -> Doc:
        if self.relation_types is None:
            self.initialize()
        found: list[tuple[int, int, str, int, int, str]] = []
        ents = list(doc.ents)
        if not ents:
            doc._.policykg_relations = found
            return doc
        ent_of = {t: e for e in ents for t in range(e.start, e.end)}
        by_sent: dict[int, list[Span]] = {}
        for ent in ents:
            by_sent.setdefault(ent.sent.start, []).append(ent)
        for group in by_sent.values():
            for i, a in enumerate(group):
                for b in group[i + 1:]:
                    if a.kb_id_ == b.kb_id_ and a.label_ == b.label_:
                        continue
                    rel = self.relate(a, b, ent_of)
                    if rel is not None:
                        src, rtype, tgt, method = rel
                        found.append((src.start_char, src.end_char, rtype, tgt.start_char,
                                      tgt.end_char, method))
        for inner in doc.spans.get(NESTED_KEY, ()):
            outer = ent_of.get(inner.start)
            if outer is None:
                continue
            rel = self.relate_nested(outer, inner)
            if rel is not None:
                src, rtype, tgt = rel
                found.append((src.start_char, src.end_char, rtype, tgt.start_char,
                              tgt.end_char, "pattern"))
        found.extend(self.discourse(doc, ents))
        doc._.policykg_relations = found
        return doc

    def discourse(self, doc: Doc, ents: list[Span]) -> list[tuple[int, int, str, int, int, str]]:
        """Relations a heading or a dateline states about the text around it:
        "Cyber Ministers' Meeting" / "4 September 2024, Karpacz, Poland" -> HELD_IN;
        "Update from the NCSC" under an incident -> the NCSC RESPONDS_TO the incident."""
        out: list[tuple[int, int, str, int, int, str]] = []
        sents = list(doc.sents)
        sent_no = {s.start: n for n, s in enumerate(sents)}
        per: dict[int, list[Span]] = {}
        for e in ents:
            per.setdefault(sent_no.get(e.sent.start, -1), []).append(e)
        events = [(n, e) for n in sorted(per) for e in per[n] if e.label_ == "Event"]
        for n, sent in enumerate(sents):
            here = per.get(n, [])
            if self.held_in is not None and _verbless(sent):
                locs = [e for e in here if e.label_ == "Location"]
                evs = [e for e in here if e.label_ == "Event"]
                if not evs and locs and n > 0:
                    prev = sents[n - 1]
                    if _verbless(prev) and len(prev) <= 20:
                        evs = [e for e in per.get(n - 1, []) if e.label_ == "Event"]
                if len(evs) == 1 and len(sent) <= 20:
                    for loc in locs[:1]:
                        out.append((evs[0].start_char, evs[0].end_char, self.held_in.name,
                                    loc.start_char, loc.end_char, "pattern"))
            if self.responds is None or len(sent) > 16:
                continue
            for ent in here:
                if ent.label_ != "Actor" or not self._announces(ent):
                    continue
                before = [e for m, e in events if n - 25 <= m < n]
                after = [e for m, e in events if n < m <= n + 5]
                event = before[-1] if before else (after[0] if after else None)
                if event is not None:
                    out.append((ent.start_char, ent.end_char, self.responds.name,
                                event.start_char, event.end_char, "pattern"))
        return out

    @staticmethod
    def _announces(ent: Span) -> bool:
        """A heading "Update / Statement / Guidance from (or by) X"."""
        root = ent.root
        prep = root.head
        if root.dep_ != "pobj" or prep.lower_ not in {"from", "by"}:
            return False
        noun = prep.head
        return noun.lemma_.lower() in _ANNOUNCEMENTS and noun.i - ent.sent.start <= 2

    def relate_nested(self, outer: Span, inner: Span):
        """Relations a name states about a name inside it: "Postal Services Directive" covers
        postal services; "Russia's war of aggression", "CrowdStrike outage" were caused by
        the actor they start with."""
        if outer.label_ == "Initiative" and inner.label_ == "Sector" and self.covers:
            return outer, self.covers.name, inner
        if outer.label_ == "Initiative" and inner.label_ == "Threat" and self.addresses:
            return outer, self.addresses.name, inner
        if outer.label_ == "Event" and inner.label_ == "Location" and self.held_in:
            return outer, self.held_in.name, inner
        if outer.label_ == "Event" and inner.label_ == "Actor" and self.caused is not None:
            first = outer.start
            while first < inner.start and (outer.doc[first].lower_ in {"the", "a", "an"}
                                           or outer.doc[first].pos_ == "ADJ"):
                first += 1
            before = outer.doc[inner.start - 1].lower_ if inner.start > outer.start else ""
            victim = inner.start == first and outer.root.lemma_.lower() in _VICTIM_HEADS
            if (inner.start == first or before in {"of", "by"}) and inner.end <= outer.end \
                    and len(inner) < len(outer) and not victim:
                return inner, self.caused.name, outer
        return None

    def relate(self, a: Span, b: Span, ent_of: dict[int, Span]):
        up_a = _ancestors(_attached_root(a))
        up_b = _ancestors(_attached_root(b))
        set_b = {t.i: n for n, t in enumerate(up_b)}
        lca_a = next((n for n, t in enumerate(up_a) if t.i in set_b), None)
        if lca_a is None:
            return None
        lca = up_a[lca_a]
        side_a = up_a[1:lca_a]
        side_b = up_b[1:set_b[lca.i]]
        if len(side_a) + len(side_b) + 1 > self.max_path:
            return None
        # tokens of the path that may carry the relation, nearest the common ancestor first
        path: list[Token] = [lca] if lca.i not in ent_of else []
        if not path:
            # "EU-NATO cooperation": one name modifies the other, both the noun after them
            gov = ent_of[lca.i].root
            if gov.dep_ == "compound" and gov.head.i not in ent_of \
                    and gov.head.pos_ in {"NOUN", "PROPN"}:
                path.append(gov.head)
        for k in range(max(len(side_a), len(side_b))):
            for side in (side_a, side_b):
                idx = len(side) - 1 - k
                if idx >= 0 and side[idx].i not in ent_of:
                    path.append(side[idx])
        if any(t.lemma_.lower() in _CITATION_WORDS for t in side_a + side_b + [lca]):
            return None  # "established pursuant to Article 15 of Directive ...": a reference
        if any(_negated(t) for t in side_a + side_b + [lca]):
            return None  # "Switzerland is not a member of NATO", "a member of the EU but not
            # of NATO": a negated statement states no relation
        # "Russia's war", "X's attack on Y": the possessor caused the event
        for x, y in ((a, b), (b, a)):
            if (x.root.dep_ == "poss" and y.start <= x.root.head.i < y.end
                    and self.caused is not None and self.caused.allows(x.label_, y.label_)):
                return x, self.caused.name, y, "pattern"
        conj_pair = _coordinated(a, b) or _coordinated(b, a)
        if conj_pair and self.cooperates is not None \
                and self.cooperates.allows(a.label_, b.label_) and _joint_subjects(a, b) \
                and not self._hostile(lca):
            return a, self.cooperates.name, b, "pattern"
        if conj_pair:
            # "A and B will work together": the verb governing the coordination
            gov = lca
            while gov.i in ent_of or gov.dep_ in {"conj", "compound", "appos"}:
                if gov.head.i == gov.i:
                    break
                gov = gov.head
            if gov.dep_ == "prep" and gov.lower_ in _BETWEEN:
                gov = gov.head  # "cooperation between A and B"
            path = [gov, *[c for c in gov.children if c.dep_ in {"xcomp", "dobj"}]]
        for tok in path:
            rels = self.by_trigger.get(tok.lemma_.lower()) or self.by_trigger.get(tok.lower_)
            if not rels:
                continue
            for rel in rels:
                if conj_pair and not rel.symmetric:
                    continue
                directed = self._direct(rel, a, b, tok, side_a, side_b)
                if directed is not None and not conj_pair \
                        and not self._roles_fit(rel, directed, tok, a, side_a, side_b, lca):
                    continue
                if directed is not None:
                    return (*directed, "dependency")
        if conj_pair:
            return None
        if self.cooperates is not None and self.cooperates.allows(a.label_, b.label_):
            joint = self._jointly(a, b) or self._jointly(b, a)
            if joint:
                return a, self.cooperates.name, b, "pattern"
        if self.funds is not None:
            for x, y in ((a, b), (b, a)):
                if self.funds.allows(x.label_, y.label_) and _funded_amount(x, lca, path):
                    return x, self.funds.name, y, "pattern"
        if self.targets is not None:
            for x, y in ((a, b), (b, a)):
                if self.targets.allows(x.label_, y.label_) and _nominal_target(x, y, ent_of):
                    return x, self.targets.name, y, "pattern"
        # nominal pattern: Initiative ... for/on/of ... Sector inside one noun phrase
        for rel in (self.covers, self.held_in):
            if rel is None:
                continue
            full = side_a + side_b + [lca]
            nominal = all(t.pos_ not in {"VERB", "AUX"} for t in full)
            has_prep = any(t.dep_ == "prep" and t.lower_ in {"for", "on", "of", "in", "at"}
                           for t in full)
            if nominal and has_prep:
                directed = self._direct(rel, a, b, None, side_a, side_b)
                if directed is not None:
                    return (*directed, "pattern")
        return None

    @staticmethod
    def _jointly(x: Span, y: Span) -> bool:
        """x is the subject of a verb that y joins "jointly / together with" (or "alongside")."""
        tok = _list_head(y.root)
        prep = tok.head
        if tok.dep_ != "pobj" or prep.dep_ != "prep":
            return False
        if prep.lower_ == "with":
            joint = any(c.lower_ in _JOINTLY for c in prep.children) or (
                prep.head.lower_ in _JOINTLY)
        else:
            joint = prep.lower_ == "alongside"
        if not joint:
            return False
        if x.start <= prep.head.i < x.end:
            return True  # "ENISA, together with CERT-EU, ..."
        verb = prep.head if prep.head.lower_ not in _JOINTLY else prep.head.head
        while verb.dep_ in {"dobj", "pobj", "prep"} and verb.head.i != verb.i:
            verb = verb.head  # "implements the strand of the programme together with Y"
        return x.root.dep_ in {"nsubj", "nsubjpass"} and x.root.head.i == verb.i

    def _roles_fit(self, rel, directed, trigger: Token, a: Span,
                   side_a: list[Token], side_b: list[Token], lca: Token) -> bool:
        """Verbal triggers need the acting Actor as subject (or passive agent), a symmetric
        verb needs its partner close by ("cooperate with X", "assist X"), and a noun under a
        verb ties its own side to that verb's subject only."""
        if trigger.pos_ == "ADJ" and trigger.dep_ in {"amod", "acl", "appos"}:
            # "the individuals responsible for NotPetya": an attributive adjective describes
            # the noun it modifies, which must be one of the pair
            holder = _list_head(trigger.head)
            return any(e.start <= holder.i < e.end for e in (directed[0], directed[2]))
        if trigger.pos_ not in {"VERB", "AUX"}:
            if lca.pos_ in {"VERB", "AUX"} and lca.i != trigger.i:
                # under a verb, the noun ties its own side to the verb's subject ("ENISA
                # provides support to X"), not to another object ("work with the EU ... and
                # with partners such as Microsoft")
                b = directed[2] if directed[0].start == a.start else directed[0]
                far = a if trigger.i in {t.i for t in side_b} else b
                inside = any(e.start <= lca.i < e.end for e in (a, b))  # a misparsed name
                if not inside and not _verb_subject(far, lca):
                    return False
            if rel.symmetric:
                # "the Council calls for cooperation between A and B": only A and B cooperate
                for prep in trigger.children:
                    if prep.dep_ == "prep" and prep.lower_ in _BETWEEN:
                        lo, hi = prep.left_edge.i, prep.right_edge.i
                        return all(lo <= e.root.i <= hi for e in (a, directed[2], directed[0]))
            return True
        src, other = directed[0], directed[2]
        src_side, other_side = (side_a, side_b) if src is a else (side_b, side_a)
        if rel.symmetric:
            # one of the pair acts ("ENISA works with CERT-EU ..."), the other is its partner
            # ("..., and it contributes to EU-CyCLONe" ties CERT-EU to nothing)
            if not _subject_of(src, src_side, trigger, passive_ok=True):
                if not _subject_of(other, other_side, trigger, passive_ok=True):
                    return False
                other, other_side = src, src_side
            head = _list_head(other.root)
            if head.dep_ in {"nsubj", "nsubjpass"} and head.head.i != trigger.i:
                return False  # "..., while EU-CyCLONe assessed its impact": its own clause
            # a partner further down a list ("with ENISA, Europol and CERT-EU") is as close
            chain = [other.root, *[t for t in other_side
                                   if t.i != trigger.i and t.dep_ != "conj"]]
            if len(chain) > 3:
                return False
            preps = [t for t in chain if t.dep_ == "prep"]
            return all(t.lower_ in _PARTNER_PREPS for t in preps)
        if src.label_ != "Actor":
            # "an operation disrupted the LockBit ransomware group", "the Commission funds X
            # through the DEP": the trigger acts on the source, or the target acts
            if trigger.dep_ in {"acl", "relcl"} and not (
                    other.start <= trigger.head.i < other.end
                    or trigger.left_edge.i <= other.root.i <= trigger.right_edge.i):
                # "the Commission proposes a Mechanism, financed by the DEP": the clause
                # speaks of the noun it modifies, not of the sentence's subject
                return False
            if trigger.lemma_.lower() in _UNDERGOERS:
                return True  # "hospitals face ransomware", "the ECCC receives funds from"
            return not (_role_under(src, trigger) in {"dobj", "nsubjpass"}
                        or (_verb_subject(other, trigger)
                            and _role_under(other, trigger) != "nsubjpass"))
        if _framing(other, trigger):
            return False  # "under the Cyber Solidarity Act, the Reserve is operated by ENISA"
        if trigger.lemma_.lower() in _ATTRIBUTORS and src.root.dep_ == "nsubj" \
                and src.root.head.i == trigger.i:
            return False  # "the EU attributed the attack to Russia": the EU only attributes
        if trigger.lemma_.lower() in _GROUP_TRIGGERS:
            # "the Group shall be composed of ... the Commission": the group is the subject
            return _subject_of(other, other_side, trigger, passive_ok=True)
        return _subject_of(src, src_side, trigger)

    def _direct(self, rel, a: Span, b: Span, trigger: Token | None,
                side_a: list[Token], side_b: list[Token]):
        ta, tb = a.label_, b.label_
        fwd, back = rel.allows(ta, tb), rel.allows(tb, ta)
        if fwd and not back:
            return a, rel.name, b
        if back and not fwd:
            return b, rel.name, a
        if not fwd:
            return None
        if rel.symmetric:
            return a, rel.name, b
        # same types both ways: who is the logical subject?
        if trigger is not None and trigger.lemma_.lower() in _GROUP_TRIGGERS:
            return b, rel.name, a
        if any(t.dep_ == "agent" for t in side_b) and not any(t.dep_ == "agent" for t in side_a):
            return b, rel.name, a
        return a, rel.name, b


def _funded_amount(fund: Span, lca: Token, path: list[Token]) -> bool:
    """The fund is where an amount comes from: "receives EUR 10 million under Horizon
    Europe", "will manage EUR 1.6 billion from the Digital Europe Programme"."""
    tok = fund.root
    if tok.dep_ != "pobj" or tok.head.lower_ not in {"from", "under", "through", "via"}:
        return False
    near = [*path, lca, *(c for c in lca.children if c.dep_ in {"dobj", "attr", "nsubjpass"})]
    return any(t.lemma_.lower() in _MONEY or t.lower_ in _MONEY for t in near)


def _nominal_target(x: Span, y: Span, ent_of: dict[int, Span]) -> bool:
    """x attacks (or threatens) y through an attack noun: "ransomware attacks against y",
    "attacks by x on y", "x campaigns targeting y", "x conducted operations against y",
    "x remains the main threat to y", "x's war of aggression against y"."""
    tok = y.root
    while tok.dep_ == "conj" and tok.head.i != tok.i and tok.head.i not in ent_of:
        tok = tok.head
    if tok.dep_ == "pobj":
        prep = tok.head
        while prep.dep_ == "conj" and prep.head.dep_ == "prep":
            prep = prep.head  # "risks to X and to Y"
        word, noun = prep.lower_, prep.head
    elif tok.dep_ == "dobj" and tok.head.lemma_.lower() == "target" \
            and tok.head.dep_ in {"acl", "relcl"}:
        word, noun = "targeting", tok.head.head  # "campaigns targeting the energy sector"
    else:
        return False
    verb = None
    if noun.dep_ == "acl" and noun.pos_ == "VERB":
        verb, noun = noun, noun.head  # "the threat posed by X to Y"
    preps = _ATTACK_PREPS.get(noun.lemma_.lower())
    if preps is None or (word not in preps and word != "targeting"):
        return False
    nouns = [noun]
    if noun.dep_ == "pobj" and noun.head.lower_ == "of":
        nouns.append(noun.head.head)  # "war of aggression against"
    src = x.root
    while src.dep_ == "conj" and src.head.i != src.i and src.head.i not in ent_of:
        src = src.head
    for n in nouns:
        if x.start <= n.i < x.end:
            return True  # "ransomware attacks against ..."
        if src.head.i == n.i and src.dep_ in {"compound", "amod", "nmod", "poss"}:
            return True  # "APT28 attacks on ...", "Russia's war ..."
        if src.dep_ == "pobj" and src.head.lower_ in {"by", "from"} \
                and src.head.head.i in {n.i, verb.i if verb is not None else -1}:
            return True  # "attacks by APT29 against ..."
        if n.dep_ in {"dobj", "attr"} and src.dep_ in {"nsubj", "nsubjpass"} \
                and src.head.i == n.head.i and n.head.lemma_.lower() in _PERPETRATE:
            return True  # "Russia conducted campaigns against ...", "X remains a threat to"
    return False


def _object_of(verb: Token) -> Token | None:
    """The object that controls an infinitive: "invites the Commission (to ...)", "calls on
    ENISA (to ...)"."""
    for c in verb.children:
        if c.dep_ == "dobj":
            return c
        if c.dep_ == "prep" and c.lower_ in {"on", "upon"}:
            return next((g for g in c.children if g.dep_ == "pobj"), None)
    return None


def _negated(token: Token) -> bool:
    """`token` carries a negation ("not", "never", "n't"), other than "not only"."""
    for c in token.children:
        if c.dep_ == "neg":
            nxt = c.nbor(1) if c.i + 1 < len(c.doc) else None
            if nxt is None or nxt.lower_ not in {"only", "just", "merely", "least"}:
                return True
    return False


def _attached_root(span: Span) -> Token:
    """The span's root, or, when the parser split a long name into pieces ("finance PESCO" +
    "Cyber Rapid Response Teams" as a root of its own), the piece attached outside it."""
    root = span.root
    if root.head.i == root.i and len(span) > 1:
        for tok in span:
            if not (span.start <= tok.head.i < span.end):
                return tok
    return root


def _ancestors(token: Token) -> list[Token]:
    out = [token]
    while out[-1].head.i != out[-1].i and len(out) < 40:
        out.append(out[-1].head)
    return out


def _list_head(token: Token) -> Token:
    """The first item of the coordination `token` ends ("ENISA, Europol and CERT-EU")."""
    while token.dep_ == "conj" and token.head.i != token.i:
        token = token.head
    return token


# Verbs whose subject undergoes the relation rather than drives it.
_UNDERGOERS = frozenset({"face", "receive", "suffer", "experience", "endure", "get", "obtain"})


def _framing(ent: Span, verb: Token) -> bool:
    """`ent` is the frame the verb acts within ("under the Act", "pursuant to the Directive"),
    not what it acts on."""
    verbs = {verb.i}
    while verb.dep_ == "conj" and verb.head.i != verb.i:
        verb = verb.head
        verbs.add(verb.i)
    root = _list_head(ent.root)
    prep = root.head
    if root.dep_ != "pobj" or prep.lower_ not in {"under", "within", "pursuant", "to"}:
        return False
    if prep.lower_ == "to":
        prep = prep.head  # "pursuant to"
        if prep.lower_ != "pursuant":
            return False
    return prep.head.i in verbs


def _role_under(ent: Span, verb: Token) -> str | None:
    """The dependency by which `ent` (or the noun it modifies, or the list it ends) hangs on
    `verb`, if it hangs on it directly."""
    tok = ent.root
    while tok.dep_ in {"compound", "amod", "conj"} and tok.head.i != tok.i:
        tok = tok.head
    return tok.dep_ if tok.head.i == verb.i and tok.i != verb.i else None


def _verb_subject(ent: Span, verb: Token) -> bool:
    """`ent` (or the list it ends) is the subject of `verb`, of the verb `verb` completes
    ("CrowdStrike continues to provide ..."), or the object that controls it ("INVITES the
    Commission to strengthen ...")."""
    root = _list_head(ent.root)
    verbs = {verb.i}
    while True:
        if verb.lemma_.lower() in _OBJECT_CONTROL:
            controller = _object_of(verb)
            if controller is not None and root.i == controller.i:
                return True
        if verb.dep_ not in {"xcomp", "advcl"} or verb.head.i == verb.i:
            break
        verb = verb.head
        verbs.add(verb.i)
    return root.dep_ in {"nsubj", "nsubjpass"} and root.head.i in verbs


def _subject_of(ent: Span, side: list[Token], trigger: Token, passive_ok: bool = False) -> bool:
    """`ent` (or the conjunct it hangs on) is the subject or passive agent of `trigger`, or of
    the verb whose subject `trigger` shares (xcomp, conj)."""
    verbs = {trigger.i}
    controller: Token | None = None
    tok = trigger
    while tok.dep_ in {"xcomp", "conj", "advcl"} and tok.head.i != tok.i:
        if tok.dep_ == "xcomp" and tok.head.lemma_.lower() in _OBJECT_CONTROL:
            controller = _object_of(tok.head)
            if controller is not None:
                break  # "invites the Commission to propose ...": the Commission proposes
        tok = tok.head
        verbs.add(tok.i)
    subj = {"nsubj", "csubj"} | ({"nsubjpass"} if passive_ok else set())
    for t in [ent.root, *side]:
        if controller is not None and t.i == controller.i:
            return True
        if t.dep_ in {"acl", "relcl"} and t.i not in verbs:
            return False  # "the Lazarus Group, linked to North Korea, targets ...": a modifier
        if t.dep_ in subj and t.head.i in verbs:
            return True
        if t.dep_ == "pobj" and t.head.dep_ == "agent" and t.head.head.i in verbs:
            return True
        if t.dep_ == "poss" and t.head.i == trigger.i:
            return True
        if t.dep_ == "pobj" and t.head.lower_ in {"to", "by"} and t.head.head.i == trigger.i \
                and trigger.lemma_.lower() in _ATTRIBUTION:
            return True
        if t.dep_ == "pobj" and t.head.lower_ == "for" and t.head.head.i in verbs \
                and trigger.dep_ == "xcomp":
            return True  # "proposes for ENISA to establish ..."
        if t.i in verbs:
            break
    return False


def _joint_subjects(a: Span, b: Span) -> bool:
    """A and B coordinated as the subject of one verb: they act together."""
    first = a if a.start < b.start else b
    tok = _list_head(first.root)
    return tok.dep_ in {"nsubj", "nsubjpass"} or (tok.dep_ == "pobj" and tok.head.dep_ == "agent")


def _coordinated(a: Span, b: Span) -> bool:
    """b is a conjunct of a (directly or through a chain of conjuncts)."""
    tok = b.root
    for _ in range(6):
        if tok.dep_ != "conj":
            return False
        tok = tok.head
        if a.start <= tok.i < a.end:
            return True
    return False


# --------------------------------------------------------------------------------------------
# (g) Themes of each sentence, from lemmas and entities.


@Language.factory(
    "policykg_themes",
    requires=["doc.ents", "token.lemma"],
    assigns=["doc._.policykg_themes"],
    default_config={"ontology_path": ""},
)
def make_themes(nlp: Language, name: str, ontology_path: str) -> ThemeTagger:
    return ThemeTagger(nlp, name, ontology_path=ontology_path)


class ThemeTagger:
    """Tags each sentence with the ontology themes whose lemmas or entities it contains."""

    def __init__(self, nlp: Language, name: str, *, ontology_path: str = "") -> None:
        self.nlp = nlp
        self.name = name
        self.ontology_path = ontology_path
        self.single: dict[str, list[str]] | None = None

    def initialize(self, get_examples=None, *, nlp: Language | None = None,
                   ontology: Ontology | None = None) -> None:
        onto = ontology or _ontology_for(self.ontology_path)
        self.single = {}
        self.multi: list[tuple[re.Pattern[str], str]] = []
        self.entities: dict[str, list[str]] = {}
        for theme in onto.themes.values():
            for lemma in theme.lemmas:
                if " " in lemma:
                    self.multi.append((re.compile(rf"\b{re.escape(lemma)}", re.I), theme.id))
                else:
                    self.single.setdefault(lemma, []).append(theme.id)
            for ent in theme.entities:
                self.entities.setdefault(normalise(ent), []).append(theme.id)

    def __call__(self, doc: Doc) -> Doc:
        if self.single is None:
            self.initialize()
        assert self.single is not None
        out = []
        for sent in doc.sents:
            themes: set[str] = set()
            for tok in sent:
                for key in (tok.lemma_.lower(), tok.lower_):
                    hit = self.single.get(key)
                    if hit:
                        themes.update(hit)
            if self.multi:
                text = sent.text
                themes.update(t for rx, t in self.multi if rx.search(text))
            for ent in sent.ents:
                themes.update(self.entities.get(normalise(ent.kb_id_ or ent.text), ()))
            if themes:
                out.append((sent.start_char, tuple(sorted(themes))))
        doc._.policykg_themes = out
        return doc


# --------------------------------------------------------------------------------------------

COMPONENTS: tuple[str, ...] = (
    "policykg_ruler", "policykg_terms", "policykg_acronyms", "policykg_ner_mapper",
    "policykg_canonicaliser", "policykg_coref", "policykg_relations", "policykg_themes",
)


def add_components(nlp: Language, ontology: Ontology | None = None) -> Language:
    """Add and initialise the policykg components around the model's own pipes."""
    onto = ontology or default_ontology()
    has_ner = "ner" in nlp.pipe_names
    if not {"parser", "senter", "sentencizer"} & set(nlp.pipe_names):
        nlp.add_pipe("sentencizer", first=True)
        nlp.add_pipe("policykg_paragraphs", after="sentencizer")
    else:
        nlp.add_pipe("policykg_paragraphs", first=True)
    if has_ner:
        nlp.add_pipe("policykg_ruler", before="ner")
        nlp.add_pipe("policykg_terms", before="ner")
    else:
        nlp.add_pipe("policykg_ruler")
        nlp.add_pipe("policykg_terms")
    for name in COMPONENTS[2:]:
        nlp.add_pipe(name)
    for name in COMPONENTS:
        component: Any = nlp.get_pipe(name)
        component.initialize(nlp=nlp, ontology=onto)
    return nlp
