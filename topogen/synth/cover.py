"""Edge clique cover: the fewest cliques whose edges are exactly a graph's edges.

A Docker network lets every pair of its members talk, so a network is a clique of the intent
graph, and a layout that carries exactly the intended pairs is an edge clique cover. Finding
the smallest one is NP-hard; :func:`cover` is exact where that is cheap and greedy elsewhere:

- each connected component is solved on its own (no clique spans two);
- a component is solved exactly by branch and bound over its maximal cliques (some minimum
  cover uses only maximal cliques: grow each clique of any cover until it is maximal) when
  it has at most :data:`EXACT_EDGES` edges and the search finishes within
  :data:`EXACT_NODES` steps, which holds for every graph of at most 7 vertices;
- otherwise it takes the greedy cover: for each uncovered edge in sorted order, the clique
  grown from it by adding the common neighbour that covers most uncovered edges (so every
  clique is maximal), then drops cliques whose edges the others cover. Bound: never more
  cliques than the component has edges, each clique covering at least one edge no other
  kept clique covers.

Everything is deterministic: vertices and cliques are ordered by name.
"""

from __future__ import annotations

from collections.abc import Iterable

Clique = frozenset[str]

#: Components with at most this many edges are covered exactly (budget permitting).
EXACT_EDGES = 24
#: Search steps allowed to one component's exact search before falling back to greedy.
EXACT_NODES = 20000


def cover(edges: Iterable[tuple[str, str]]) -> list[Clique]:
    """A small set of cliques covering every edge (undirected; loops ignored), sorted."""
    adj = _adjacency(edges)
    out: list[Clique] = []
    for comp in _components(adj):
        sub = {v: adj[v] for v in comp}
        count = sum(len(n) for n in sub.values()) // 2
        found = _exact(sub) if count <= EXACT_EDGES else None
        out.extend(found if found is not None else _greedy(sub))
    return sorted(out, key=_order)


def _order(c: Clique) -> tuple[str, ...]:
    return tuple(sorted(c))


def _adjacency(edges: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    adj: dict[str, set[str]] = {}
    for a, b in edges:
        if a != b:
            adj.setdefault(a, set()).add(b)
            adj.setdefault(b, set()).add(a)
    return adj


def _components(adj: dict[str, set[str]]) -> list[list[str]]:
    seen: set[str] = set()
    out = []
    for start in sorted(adj):
        if start in seen:
            continue
        seen.add(start)
        comp, stack = [], [start]
        while stack:
            v = stack.pop()
            comp.append(v)
            for w in adj[v]:
                if w not in seen:
                    seen.add(w)
                    stack.append(w)
        out.append(sorted(comp))
    return out


def _pairs(c: Clique) -> set[tuple[str, str]]:
    m = sorted(c)
    return {(a, b) for i, a in enumerate(m) for b in m[i + 1 :]}


def edge_set(adj: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, ns in adj.items() for b in ns if a < b}


# ---------------------------------------------------------------------- greedy


def _greedy(adj: dict[str, set[str]]) -> list[Clique]:
    left = edge_set(adj)
    chosen: list[Clique] = []
    for a, b in sorted(left):
        if (a, b) not in left:
            continue
        members = {a, b}
        candidates = adj[a] & adj[b]
        while candidates:
            w = max(sorted(candidates), key=lambda v: sum(_key(v, m) in left for m in members))
            members.add(w)
            candidates &= adj[w]
        clique = frozenset(members)
        left -= _pairs(clique)
        chosen.append(clique)
    return _prune(chosen)


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _prune(chosen: list[Clique]) -> list[Clique]:
    """Drop cliques (smallest first) whose every edge another kept clique covers."""
    count: dict[tuple[str, str], int] = {}
    for c in chosen:
        for e in _pairs(c):
            count[e] = count.get(e, 0) + 1
    kept = set(chosen)
    for c in sorted(chosen, key=lambda c: (len(c), _order(c))):
        edges = _pairs(c)
        if all(count[e] > 1 for e in edges):
            kept.discard(c)
            for e in edges:
                count[e] -= 1
    return [c for c in chosen if c in kept]


# ---------------------------------------------------------------------- exact


def maximal_cliques(adj: dict[str, set[str]]) -> list[Clique]:
    """Bron-Kerbosch with pivoting, in a deterministic order."""
    out: list[Clique] = []

    def expand(r: set[str], p: set[str], x: set[str]) -> None:
        if not p and not x:
            out.append(frozenset(r))
            return
        pivot = max(sorted(p | x), key=lambda u: len(adj[u] & p))
        for v in sorted(p - adj[pivot]):
            expand(r | {v}, p & adj[v], x & adj[v])
            p = p - {v}
            x = x | {v}

    expand(set(), set(adj), set())
    return sorted(out, key=_order)


def _exact(adj: dict[str, set[str]]) -> list[Clique] | None:
    """A minimum cover by branch and bound, or None when the budget runs out."""
    cliques = maximal_cliques(adj)
    edges = edge_set(adj)
    holding = {e: [c for c in cliques if e[0] in c and e[1] in c] for e in edges}
    best: list[Clique] = _greedy(adj)
    steps = 0

    def search(left: set[tuple[str, str]], chosen: list[Clique]) -> bool:
        nonlocal best, steps
        steps += 1
        if steps > EXACT_NODES:
            return False
        if not left:
            if len(chosen) < len(best):
                best = list(chosen)
            return True
        if len(chosen) + 1 >= len(best):
            return True
        edge = min(left, key=lambda e: (len(holding[e]), e))
        for c in holding[edge]:
            if not search(left - _pairs(c), [*chosen, c]):
                return False
        return True

    return best if search(edges, []) else None
