"""The SERVICE check (pipeline/sparqlguard.py) against the engine it protects.

Each query runs through pyoxigraph for real, its SERVICE (if any) aimed at a recording listener
on 127.0.0.1. What Oxigraph 0.5 does is asserted as well: it calls the endpoint (that is why
crampkg refuses SERVICE), including in forms a plain tokenizer misses, e.g. a `<` that looks
like the start of an IRI but is the less-than operator. The check must refuse every query that
connects, and let through look-alikes that cannot (SERVICE in a string, a comment, an IRI, a
name). FROM and FROM NAMED never connect: Oxigraph treats them as names of local graphs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyoxigraph import Literal, NamedNode, Quad, QueryBoolean, Store

from pipeline.sparqlguard import find_service
from tests.listener import RecordingListener

P = "PREFIX ex: <{b}> PREFIX : <{b}> "
# name: (query, what Oxigraph does with it); {u} is the listener's endpoint, {b} its base.
CONNECTS, INERT, BENIGN = "connects", "inert", "benign"
CASES: dict[str, tuple[str, str]] = {
    "plain": ("SELECT * WHERE { SERVICE <{u}> { ?x ?y ?z } }", CONNECTS),
    "lowercase": ("select * where { service <{u}> { ?x ?y ?z } }", CONNECTS),
    "mixed-case": ("SELECT * WHERE { SeRvIcE <{u}> { ?x ?y ?z } }", CONNECTS),
    "no-spaces": ("SELECT*WHERE{SERVICE<{u}>{?x ?y ?z}}", CONNECTS),
    "silent": ("SELECT * WHERE { SERVICE SILENT <{u}> { ?x ?y ?z } }", CONNECTS),
    "silent-glued": ("SELECT * WHERE { SERVICESILENT<{u}> { ?x ?y ?z } }", CONNECTS),
    "glued-prefixed-name": (P + "SELECT * WHERE { SERVICEex:sparql { ?x ?y ?z } }", CONNECTS),
    "glued-empty-prefix": (P + "SELECT * WHERE { SERVICE:sparql { ?x ?y ?z } }", CONNECTS),
    "comment-between": ("SELECT * WHERE { SERVICE # a comment\n<{u}> { ?x ?y ?z } }", CONNECTS),
    "tabs-and-crlf": ("SELECT * WHERE {\r\n\tSERVICE\t<{u}>\r\n{ ?x ?y ?z } }", CONNECTS),
    "lt-operator-looks-like-iri": (
        P + "SELECT * WHERE { FILTER(1<2)SERVICE:sparql#>\n{ ?x ?y ?z } }",
        CONNECTS,
    ),
    "after-number": ("SELECT * WHERE { <urn:a> <urn:p> 1SERVICE <{u}> { ?x ?y ?z } }", CONNECTS),
    "after-dot": ("SELECT * WHERE { <urn:a> <urn:p> ?o.SERVICE <{u}> { ?x ?y ?z } }", CONNECTS),
    "after-semicolon": (
        "SELECT * WHERE { <urn:a> <urn:p> ?o ;SERVICE <{u}> { ?x ?y ?z } }",
        CONNECTS,
    ),
    "after-string": ("SELECT * WHERE { BIND('}' AS ?q) SERVICE <{u}> { ?x ?y ?z } }", CONNECTS),
    "after-long-string": (
        "SELECT * WHERE { BIND('''a\n'b''' AS ?q) SERVICE <{u}> { ?x ?y ?z } }",
        CONNECTS,
    ),
    "relative-iri-with-base": (
        "BASE <{b}> SELECT * WHERE { SERVICE <sparql> { ?x ?y ?z } }",
        CONNECTS,
    ),
    "escape-in-iri": ("SELECT * WHERE { SERVICE <{b}\\u0073parql> { ?x ?y ?z } }", CONNECTS),
    "in-optional": ("SELECT * WHERE { OPTIONAL { SERVICE <{u}> { ?x ?y ?z } } }", CONNECTS),
    "in-union": (
        "SELECT * WHERE { { <urn:a> ?p ?o } UNION { SERVICE <{u}> { ?x ?y ?z } } }",
        CONNECTS,
    ),
    "in-minus": (
        "SELECT * WHERE { <urn:a> ?p ?o MINUS { SERVICE <{u}> { ?x ?y ?z } } }",
        CONNECTS,
    ),
    "in-exists": (
        "SELECT * WHERE { <urn:a> ?p ?o FILTER EXISTS { SERVICE <{u}> { ?x ?y ?z } } }",
        CONNECTS,
    ),
    "in-subquery": (
        "SELECT * WHERE { { SELECT * WHERE { SERVICE <{u}> { ?x ?y ?z } } } }",
        CONNECTS,
    ),
    "in-graph": ("SELECT * WHERE { GRAPH ?g { SERVICE <{u}> { ?x ?y ?z } } }", CONNECTS),
    "ask": ("ASK { SERVICE <{u}> { ?x ?y ?z } }", CONNECTS),
    "construct": ("CONSTRUCT { ?x ?y ?z } WHERE { SERVICE <{u}> { ?x ?y ?z } }", CONNECTS),
    "describe": ("DESCRIBE ?x WHERE { SERVICE <{u}> { ?x ?y ?z } }", CONNECTS),
    # Refused although Oxigraph 0.5 does not connect: a variable endpoint (Oxigraph says it
    # is unbound), forms it rejects as syntax errors but a parser could read as SERVICE.
    "variable-endpoint": ("SELECT * WHERE { BIND(<{u}> AS ?s) SERVICE ?s { ?x ?y ?z } }", INERT),
    "values-endpoint": ("SELECT * WHERE { VALUES ?s { <{u}> } SERVICE ?s { ?x ?y } }", INERT),
    "after-true": ("SELECT * WHERE { ?a ?b trueSERVICE <{u}> { ?x ?y ?z } }", INERT),
    "long-s": ("SELECT * WHERE { \u017fERVICE <{u}> { ?x ?y ?z } }", INERT),
    "unicode-spaces": ("SELECT * WHERE {\ufeffSERVICE\u00a0<{u}> { ?x ?y ?z } }", INERT),
    "prefixed-name-dot": (P + "SELECT * WHERE { ?a ?b ex:a.SERVICE <{u}> { ?x ?y ?z } }", INERT),
    # Not SERVICE at all: must pass.
    "in-string": ('SELECT * WHERE { BIND("SERVICE <{u}> { }" AS ?x) }', BENIGN),
    "in-single-quoted-string": ("SELECT * WHERE { BIND('SERVICE <{u}> {}' AS ?x) }", BENIGN),
    "in-long-string": ('SELECT * WHERE { BIND("""\nSERVICE <{u}> {}\n""" AS ?x) }', BENIGN),
    "in-comment": ("SELECT * WHERE { # SERVICE <{u}> { }\n ?x ?y ?z }", BENIGN),
    "in-iri": ("SELECT * WHERE { ?x ?y <http://example.org/SERVICE> }", BENIGN),
    "in-iri-with-fragment": ("SELECT * WHERE { ?x <http://ex.org/service#p>\n?z }", BENIGN),
    "in-iri-path": ("SELECT * WHERE { ?x <http://ex.org/WebServices> ?z }", BENIGN),
    "in-relative-iri": ("BASE <{b}> SELECT * WHERE { ?x ?y <entity/service> }", BENIGN),
    "variable-named-service": ("SELECT ?service WHERE { ?service ?y ?z }", BENIGN),
    "prefixed-name": (P + "SELECT * WHERE { ?x ex:hasService ?service }", BENIGN),
    "prefixed-name-service": (P + "SELECT * WHERE { ?x ex:service :SERVICE }", BENIGN),
    "unicode-escape-keyword": ("SELECT * WHERE { \\u0053ERVICE <{u}> { ?x ?y ?z } }", BENIGN),
    "from": ("SELECT * FROM <{u}> WHERE { ?x ?y ?z }", BENIGN),
    "from-named": ("SELECT * FROM NAMED <{u}> WHERE { GRAPH ?g { ?x ?y ?z } }", BENIGN),
    "graph-iri": ("SELECT * WHERE { GRAPH <{u}> { ?x ?y ?z } }", BENIGN),
}


@pytest.fixture(scope="module")
def listener() -> Iterator[RecordingListener]:
    served = RecordingListener()
    yield served
    served.close()


@pytest.fixture(scope="module")
def store() -> Store:
    """One triple, so that patterns joined with a SERVICE have a row to send."""
    one = Store()
    one.add(Quad(NamedNode("urn:a"), NamedNode("urn:p"), Literal(1)))
    return one


def fill(template: str, listener: RecordingListener) -> str:
    return template.replace("{u}", listener.url + "sparql").replace("{b}", listener.url)


@pytest.mark.parametrize("name", list(CASES))
def test_refused_whenever_oxigraph_would_connect(
    name: str, listener: RecordingListener, store: Store
) -> None:
    template, oxigraph_does = CASES[name]
    query = fill(template, listener)
    before = listener.connections(settle=0)
    try:
        result = store.query(query)
        bool(result) if isinstance(result, QueryBoolean) else list(result)
    except (SyntaxError, OSError, RuntimeError):
        pass  # Oxigraph refused it itself: the count below still says if it connected
    connected = listener.connections(settle=0) > before  # recorded before Oxigraph's answer
    assert connected == (oxigraph_does == CONNECTS), "Oxigraph's behaviour changed"
    assert (find_service(query) is not None) == (oxigraph_does != BENIGN)


BEFORE = ["", "?o", "?o 1", "1", ".", "?o ;", "}", "{ }", "[] <urn:p> ?v", "VALUES ?v { 1 }"]
BEFORE += ["FILTER(1<2)", "FILTER(?o<2)", "FILTER(1<2 && 3>2)", "FILTER(1<2)#>\n", "FILTER(true)"]
BEFORE += ["BIND('x' AS ?q)", 'BIND("x" AS ?q)', "BIND('''x\n''' AS ?q)", "BIND(<urn:x> AS ?q)"]
GAPS = ["", " ", "\n", "#c\n", "\t", "\r\n", " #x\n "]
TARGETS = ["<{u}>", "ex:s", ":s", "SILENT <{u}>", "SILENT:s", "SILENTex:s", "<s>"]
WRAPS = ["{}", "{{ {} }}", "OPTIONAL {{ {} }}", "FILTER EXISTS {{ {} }}", "{{ SELECT * {{ {} }} }}"]


def test_no_generated_service_call_gets_through(listener: RecordingListener, store: Store) -> None:
    """1,000 queries built from the pieces above: every one Oxigraph calls out for is refused."""
    rng, connected, missed = random.Random(9), 0, []
    for _ in range(1000):
        word = "".join(c.upper() if rng.random() < 0.5 else c for c in "service")
        core = rng.choice(BEFORE) + rng.choice(GAPS) + word + rng.choice(GAPS)
        core += rng.choice(TARGETS) + rng.choice(GAPS) + "{ ?x ?y ?z }"
        body = rng.choice(WRAPS).format(core)
        query = fill(
            P + "BASE <{b}> SELECT * WHERE { <urn:a> <urn:p> ?o . " + body + " }", listener
        )
        before = listener.connections(settle=0)
        try:
            result = store.query(query)
            bool(result) if isinstance(result, QueryBoolean) else list(result)
        except (SyntaxError, OSError, RuntimeError):
            pass
        if listener.connections(settle=0) > before:
            connected += 1
            if find_service(query) is None:
                missed.append(query)
    assert missed == []
    assert connected > 250  # the generator does reach Oxigraph's SERVICE


def test_where_it_is_found() -> None:
    assert find_service("SELECT * {\n  ?s ?p ?o .\n  service <http://x/> {}\n}") == (3, 3)
    assert find_service("SELECT * { ?s ?p ?o }") is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters='"\\\n\r'), max_size=40))
def test_service_inside_a_string_or_comment_passes(noise: str) -> None:
    text = f"{noise} SERVICE <http://x/> {{ ?a ?b ?c }} {noise}"
    assert find_service(f'SELECT * WHERE {{ BIND("{text}" AS ?v) }}') is None
    assert find_service(f"SELECT * WHERE {{ # {text}\n ?a ?b ?c }}") is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=7, max_size=7), st.sampled_from([" ", "\t", "\n", ""]))
def test_service_in_any_case_is_found(upper: list[bool], gap: str) -> None:
    word = "".join(c.upper() if u else c for c, u in zip("service", upper, strict=True))
    assert find_service(f"SELECT * WHERE {{ ?s ?p ?o .{gap}{word}{gap}<http://x/> {{}} }}")


@pytest.mark.parametrize(
    "filler",
    ["<", "a.", "#x\n", "'", "service/", "?v "],
    ids=["lt", "dots", "comments", "quote", "slashes", "vars"],
)
def test_large_query_is_checked_in_linear_time(filler: str) -> None:
    """256 KiB of what costs the scan most, then SERVICE: well under a second per 256 KiB."""
    query = "SELECT * WHERE { " + filler * (256 * 1024 // len(filler)) + "\n} SERVICE <x> {}"
    start = time.monotonic()
    assert find_service(query) is not None
    assert time.monotonic() - start < 5.0
