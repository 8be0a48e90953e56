"""References: every name a service uses is declared, and modes do not conflict."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..diagnostics import Diagnostic, Path, error, warning
from ..resolved import Service, Topology
from .registry import reports


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib  # only when a name is unknown: not on the common path

    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {close[0]!r}?" if close else ""


@reports(error="undefined-network")
def undefined_network(topo: Topology) -> Iterator[Diagnostic]:
    """A service joins a network that is not declared.

    ``services: {web: {networks: [fronted]}}`` with only ``frontend`` declared.
    """
    for s in topo.services.values():
        for a in s.attachments:
            if a.network not in topo.networks:
                yield error(
                    "undefined-network",
                    f'service "{s.name}" refers to undefined network "{a.network}"',
                    a.path,
                    at_key=True,
                    hint=_suggest(a.network, topo.networks),
                )


@reports(error="undefined-volume")
def undefined_volume(topo: Topology) -> Iterator[Diagnostic]:
    """A volume mount names a volume that is not declared.

    ``mounts: [{source: pgdata, target: /data}]`` with no ``volumes: {pgdata: {}}``.
    """
    for s in topo.services.values():
        for m in s.mounts:
            if m.type == "volume" and m.source is not None and m.source not in topo.volumes:
                yield error(
                    "undefined-volume",
                    f'service "{s.name}" mounts undefined volume "{m.source}"',
                    (*m.path, "source"),
                    hint=_suggest(m.source, topo.volumes),
                )


@reports(error=("undefined-config", "undefined-secret"))
def undefined_secret_or_config(topo: Topology) -> Iterator[Diagnostic]:
    """A service is granted a secret or config that is not declared.

    ``secrets: [db_pasword]`` with only ``db_password`` declared.
    """
    for s in topo.services.values():
        for kind, grants, known in (
            ("secret", s.secrets, topo.secrets),
            ("config", s.configs, topo.configs),
        ):
            for g in grants:
                if g.source not in known:
                    yield error(
                        f"undefined-{kind}",
                        f'service "{s.name}" refers to undefined {kind} "{g.source}"',
                        g.path,
                        hint=_suggest(g.source, known),
                    )


@reports(error="undefined-dependency")
def undefined_dependency(topo: Topology) -> Iterator[Diagnostic]:
    """``depends_on`` or ``links`` names a service that does not exist, or the service itself.

    ``depends_on: [postgress]``.
    """
    for s in topo.services.values():
        for d in s.depends_on:
            if d.service not in topo.services:
                yield error(
                    "undefined-dependency",
                    f'service "{s.name}" depends on undefined service "{d.service}"',
                    d.path,
                    at_key=True,
                    hint=_suggest(d.service, topo.services),
                )
            elif d.service == s.name:
                yield error(
                    "undefined-dependency",
                    f'service "{s.name}" depends on itself',
                    d.path,
                    at_key=True,
                )
        for i, (target, _alias) in enumerate(s.links):
            if target not in topo.services:
                yield error(
                    "undefined-dependency",
                    f'service "{s.name}" links to undefined service "{target}"',
                    (*s.path, "links", i),
                    hint=_suggest(target, topo.services),
                )


@reports(error="dependency-without-healthcheck", warning="dependency-without-healthcheck")
def dependency_without_healthcheck(topo: Topology) -> Iterator[Diagnostic]:
    """``condition: service_healthy`` on a service whose healthcheck is disabled (an error), or that
    declares none and so relies on its image's HEALTHCHECK (a warning). Without one, ``up`` stops:
    "dependency failed to start: container ... has no healthcheck configured".

    ``web: {depends_on: {db: {condition: service_healthy}}}`` with ``db: {image: postgres}``.
    """
    for s in topo.services.values():
        for d in s.depends_on:
            target = topo.services.get(d.service)
            if d.condition != "service_healthy" or target is None or d.required is False:
                continue
            if target.healthcheck is not None and target.healthcheck.disabled:
                yield error(
                    "dependency-without-healthcheck",
                    f'service "{s.name}" waits for "{d.service}" to be '
                    "healthy, but its healthcheck is disabled",
                    (*d.path, "condition"),
                )
            elif target.healthcheck is None or not target.healthcheck.test:
                yield warning(
                    "dependency-without-healthcheck",
                    f'service "{s.name}" waits for "{d.service}" to be '
                    "healthy, but it declares no healthcheck (its image must have one)",
                    (*d.path, "condition"),
                    hint=f"add healthcheck: {{test: ...}} to {d.service}",
                )


@reports(error=("invalid-network-mode", "undefined-service"), warning="invalid-network-mode")
def network_mode(topo: Topology) -> Iterator[Diagnostic]:
    """``network_mode`` is one of host, none, bridge, service:X, container:X, and X exists.

    ``network_mode: service:mian-app``, ``network_mode: "container:"``. Any other word is a
    warning: the engine joins the existing network of that name (or refuses it when there is
    none), and Podman reads its own modes (``pasta``, ``slirp4netns``).
    """
    for s in topo.services.values():
        mode = s.network_mode
        if mode is None:
            continue
        path = (*s.path, "network_mode")
        kind, _, target = mode.partition(":")
        if mode in ("host", "none", "bridge", "default"):
            continue
        if kind == "service" and target:
            if target not in topo.services:
                yield error(
                    "undefined-service",
                    f'service "{target}" not found for network_mode "{mode}"',
                    path,
                    hint=_suggest(target, topo.services),
                )
            elif target == s.name:
                yield error(
                    "undefined-service",
                    f'service "{s.name}" cannot share its own network namespace',
                    path,
                )
        elif kind in ("container", "service"):
            if not target:
                yield error(
                    "invalid-network-mode",
                    f'invalid network_mode "{mode}"',
                    path,
                    hint="use host, none, bridge, service:NAME or container:NAME",
                )
        else:
            yield warning(
                "invalid-network-mode",
                f'network_mode "{mode}" is not host, none, bridge, service: or container:, '
                f'so the engine joins the existing network named "{mode}" (Podman also reads '
                "its own modes, such as pasta); topogen does not analyse it",
                path,
                hint=f"for a network, write networks: {{{mode}: {{external: true}}}}",
            )


@reports(error="network-mode-with-networks")
def network_mode_with_networks(topo: Topology) -> Iterator[Diagnostic]:
    """``network_mode`` and ``networks`` are mutually exclusive (Compose rejects the file).

    ``{network_mode: host, networks: [frontend]}``.
    """
    for s in topo.services.values():
        if s.network_mode and s.attachments:
            yield error(
                "network-mode-with-networks",
                f'service "{s.name}" declares both network_mode and networks',
                (*s.path, "network_mode"),
                at_key=True,
                hint="remove networks, or drop network_mode",
            )


def _edges(topo: Topology, s: Service) -> Iterator[tuple[str, Path]]:
    """Services that ``s`` must start after: depends_on, links and ``network_mode: service:X``."""
    yield from ((d.service, d.path) for d in s.depends_on)
    yield from ((target, (*s.path, "links", i)) for i, (target, _a) in enumerate(s.links))
    if s.network_mode and s.network_mode.startswith("service:"):
        yield s.network_mode.split(":", 1)[1], (*s.path, "network_mode")


@reports(error="dependency-cycle")
def dependency_cycle(topo: Topology) -> Iterator[Diagnostic]:
    """Services that depend on each other in a circle (Compose: "dependency cycle detected").

    ``a: {depends_on: [b]}`` and ``b: {network_mode: "service:a"}``.
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in topo.services:
        stack = [(root, iter(_edges(topo, topo.services[root])))]
        state.setdefault(root, 1)
        while stack and state[root] == 1:
            name, edges = stack[-1]
            nxt = next(edges, None)
            if nxt is None:
                state[name] = 2
                stack.pop()
            elif nxt[0] in topo.services and nxt[0] != name:
                if state.get(nxt[0]) == 1:
                    names = [n for n, _ in stack]
                    cycle = " -> ".join([*names[names.index(nxt[0]) :], nxt[0]])
                    yield error(
                        "dependency-cycle",
                        f"dependency cycle: {cycle}",
                        nxt[1],
                        at_key=nxt[1][-2] == "depends_on",
                    )
                elif nxt[0] not in state:
                    state[nxt[0]] = 1
                    stack.append((nxt[0], iter(_edges(topo, topo.services[nxt[0]]))))


RULES = (
    undefined_network,
    undefined_volume,
    undefined_secret_or_config,
    undefined_dependency,
    dependency_without_healthcheck,
    network_mode,
    network_mode_with_networks,
    dependency_cycle,
)
