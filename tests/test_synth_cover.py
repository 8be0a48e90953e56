"""The edge clique cover: valid on every graph, minimum on small graphs (a brute force over
every subset of vertices decides the minimum), within the stated bound on large ones."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from topogen.synth import cover

Edge = tuple[str, str]


def _check_valid(edges: set[Edge], cliques: list[frozenset[str]]) -> None:
    """Every clique is complete in the graph and together they cover exactly its edges."""
    covered = set()
    for c in cliques:
        members = sorted(c)
        assert len(members) >= 2
        for a, b in itertools.combinations(members, 2):
            assert (a, b) in edges, f"{c} is not a clique: {a}-{b} is not intended"
            covered.add((a, b))
    assert covered == edges


def brute_minimum(vertices: list[str], edges: set[Edge]) -> int:
    """The minimum number of cliques covering ``edges``: subsets of vertices that are
    complete, the maximal ones kept (growing each clique of a cover keeps it a cover), then
    every combination of them in increasing size."""
    if not edges:
        return 0
    complete = [
        frozenset(s)
        for k in range(2, len(vertices) + 1)
        for s in itertools.combinations(vertices, k)
        if all(p in edges for p in itertools.combinations(s, 2))
    ]
    maximal = [c for c in complete if not any(c < d for d in complete)]
    for k in range(1, len(edges) + 1):
        for combo in itertools.combinations(maximal, k):
            if all(any(a in c and b in c for c in combo) for a, b in edges):
                return k
    raise AssertionError("no cover")


@st.composite
def small_graphs(draw: st.DrawFn) -> tuple[list[str], set[Edge]]:
    n = draw(st.integers(1, 7))
    vertices = [f"s{i}" for i in range(n)]
    pairs = list(itertools.combinations(vertices, 2))
    chosen = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    return vertices, {p for p, keep in zip(pairs, chosen) if keep}


@settings(max_examples=300, deadline=None)
@given(small_graphs())
def test_minimum_on_graphs_up_to_seven_vertices(graph: tuple[list[str], set[Edge]]) -> None:
    vertices, edges = graph
    found = cover.cover(edges)
    _check_valid(edges, found)
    assert len(found) == brute_minimum(vertices, edges)


def test_known_minimum_graphs() -> None:
    # K4 minus one edge: two triangles; a 5-cycle: five edges; K_{3,3}: nine edges (no triangle)
    k4_minus = {("a", "b"), ("a", "c"), ("b", "c"), ("b", "d"), ("c", "d")}
    cycle = {("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("a", "e")}
    k33 = {(a, b) for a in "abc" for b in "xyz"}
    complete = set(itertools.combinations("abcdefg", 2))
    assert len(cover.cover(k4_minus)) == 2
    assert len(cover.cover(cycle)) == 5
    assert len(cover.cover(k33)) == 9
    assert cover.cover(complete) == [frozenset("abcdefg")]


def test_large_graphs_are_covered_within_the_bound() -> None:
    rng = random.Random(13)
    for n in (30, 60, 200):
        vertices = [f"v{i:03}" for i in range(n)]
        edges = {tuple(sorted(rng.sample(vertices, 2))) for _ in range(n * 3)}
        edges = {(a, b) for a, b in edges}
        found = cover.cover(edges)
        _check_valid(edges, found)
        assert len(found) <= len(edges)
        # each clique carries an edge no other clique carries (none is redundant)
        for c in found:
            others = [d for d in found if d is not c]
            assert any(
                not any(a in d and b in d for d in others)
                for a, b in itertools.combinations(sorted(c), 2)
            )


def test_dense_clusters_become_one_network_each() -> None:
    # three groups of 8 that talk within the group, joined by one bridge pair each
    groups = [[f"g{g}s{i}" for i in range(8)] for g in range(3)]
    edges = {p for g in groups for p in itertools.combinations(g, 2)}
    edges |= {("g0s0", "g1s0"), ("g1s0", "g2s0")}
    found = cover.cover(edges)
    _check_valid(edges, found)
    assert len(found) == 5


def test_deterministic_whatever_the_edge_order() -> None:
    rng = random.Random(5)
    vertices = [f"v{i}" for i in range(40)]
    edges = [tuple(sorted(rng.sample(vertices, 2))) for _ in range(120)]
    shuffled = list(edges)
    rng.shuffle(shuffled)
    flipped = [(b, a) for a, b in shuffled]
    assert cover.cover(edges) == cover.cover(flipped)
