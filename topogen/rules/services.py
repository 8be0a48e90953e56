"""Services: what Compose refuses in a service's own keys (image, healthcheck, keys, env files, commands)."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from typing import Any

from ..diagnostics import Diagnostic, Path, error, warning
from ..keys import COMPOSE_VERSION, NEWER_SERVICE, NEWER_TOP
from ..resolved import Service, Topology
from .registry import reports

#: The first word of a healthcheck ``test`` list (Compose: 'must start either by "CMD", "CMD-SHELL" or "NONE"').
HEALTHCHECK_KINDS = ("CMD", "CMD-SHELL", "NONE")
#: Characters that end a command line for Compose's shell-words parser when unquoted: it keeps only the
#: words before them (``echo a; echo b`` runs ``echo a``).
SHELL_OPERATORS = frozenset(";|&<>")
#: An image reference as the engine parses it (distribution/reference): [registry[:port]/]path[:tag][@digest],
#: the path lowercase, each component alphanumerics joined by ".", "_", "__" or dashes.
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])"
IMAGE_REFERENCE = re.compile(
    rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH}(?:/{_PATH})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)


@reports(error="missing-image")
def missing_image(topo: Topology) -> Iterator[Diagnostic]:
    """A service has neither ``image`` nor ``build`` (Compose: "has neither an image nor a build context specified").

    ``services: {web: {command: nginx}}``.
    """
    for s in topo.services.values():
        if s.image == "" and s.build is None:  # an image written as a variable that is empty here
            yield error(
                "missing-image", f'service "{s.name}" has an empty image', (*s.path, "image")
            )
        elif not s.image and s.build is None and not s.provider:
            yield error(
                "missing-image",
                f'service "{s.name}" has neither an image nor a build context',
                s.path,
                at_key=True,
                hint="add image: NAME or build: DIR",
            )


@reports(error="invalid-healthcheck")
def invalid_healthcheck(topo: Topology) -> Iterator[Diagnostic]:
    """A ``healthcheck.test`` list does not start with CMD, CMD-SHELL or NONE (Compose rejects the file).

    ``healthcheck: {test: ["curl", "-f", "http://localhost"]}``: write ``["CMD", "curl", ...]``.
    """
    for s in topo.services.values():
        test = s.healthcheck.test if s.healthcheck else None
        if isinstance(test, tuple) and test and test[0] not in HEALTHCHECK_KINDS:
            import json  # only for this hint: validate does not otherwise load json

            yield error(
                "invalid-healthcheck",
                f'healthcheck.test of service "{s.name}" must start with "CMD", '
                f'"CMD-SHELL" or "NONE", not {str(test[0])!r}',
                (*s.path, "healthcheck", "test", 0),
                hint=f"write {json.dumps(['CMD', *map(str, test)])} or a shell string",
            )


@reports(error="invalid-image")
def invalid_image(topo: Topology) -> Iterator[Diagnostic]:
    """``image`` is not a valid image reference (Compose passes it on; pulling, building or creating fails).

    ``image: My-App:latest``: repository names are lowercase; also an empty tag (``nginx:``) or
    a space. Form: ``[registry[:port]/]name[:tag][@digest]``.
    """
    for s in topo.services.values():
        image = s.image
        if not image or "$" in image or IMAGE_REFERENCE.fullmatch(image):
            continue
        name = image.partition("@")[0]
        if len(name) > 255:
            problem = "is longer than 255 characters"
        elif IMAGE_REFERENCE.fullmatch(image.lower()):
            problem = "has upper-case letters in its repository name (it must be lowercase)"
        else:
            problem = "is not an image reference"
        yield error(
            "invalid-image",
            f'service "{s.name}": image {image!r} {problem}',
            (*s.path, "image"),
            hint="write [registry[:port]/]name[:tag][@digest], the name lowercase, e.g. my-app:1.0",
        )


def _keys(s: Service) -> Iterator[tuple[str, list[str], Path, bool]]:
    """(section, key names, path of the section, written as a list) for environment, labels and sysctls."""
    yield (
        "environment",
        [k for k, _v in s.environment],
        (*s.path, "environment"),
        s.environment_is_list,
    )
    yield (
        "labels",
        [k for k, _v in s.labels],
        (*s.path, "labels"),
        False,
    )  # sorted: the key "" locates a mapping
    sysctls: Any = dict(s.options).get("sysctls") or {}
    names = (
        [str(i).partition("=")[0] for i in sysctls]
        if isinstance(sysctls, list)
        else [str(k) for k in sysctls]
    )
    yield "sysctls", names, (*s.path, "sysctls"), isinstance(sysctls, list)


@reports(error="empty-key")
def empty_key(topo: Topology) -> Iterator[Diagnostic]:
    """An environment variable, label (of a service, network or volume) or sysctl has an empty name (Compose: "additional properties '' not allowed").

    ``environment: ["=production"]`` or ``labels: {"": x}``.
    """
    for s in topo.services.values():
        for section, names, path, is_list in _keys(s):
            if "" not in names:
                continue
            where = names.index("") if is_list else ""
            yield error(
                "empty-key",
                f'service "{s.name}" has an entry with an empty name in {section}',
                (*path, where),
                at_key=not is_list,
                hint="write NAME=VALUE",
            )
    for kind, items in (("network", topo.networks), ("volume", topo.volumes)):
        for item in items.values():
            if any(key == "" for key, _v in item.labels):
                yield error(
                    "empty-key",
                    f"{kind} {item.key} has a label with an empty name",
                    (*item.path, "labels", ""),
                    at_key=True,
                    hint="write NAME=VALUE",
                )


@reports(error="env-file-missing")
def env_file_missing(topo: Topology) -> Iterator[Diagnostic]:
    """An ``env_file`` does not exist relative to the topology file (Compose: "env file ... not found").

    ``env_file: app.env`` with no app.env beside the topology.
    """
    for s in topo.services.values():
        files: Any = dict(s.options).get("env_file")
        items = files if isinstance(files, list) else [files] if files else []
        for i, item in enumerate(items):
            if isinstance(item, dict) and item.get("required") is False:
                continue  # Compose skips a missing optional file
            name = str(item.get("path", "")) if isinstance(item, dict) else str(item)
            if not name or "$" in name or name.startswith("~"):
                continue
            full = os.path.normpath(os.path.join(topo.base_dir, name))
            if not os.path.isfile(full):
                path = (
                    (*s.path, "env_file", i) if isinstance(files, list) else (*s.path, "env_file")
                )
                path = (*path, "path") if isinstance(item, dict) else path
                yield error(
                    "env-file-missing",
                    f"env file {full} not found",
                    path,
                    hint="create it, or remove it from env_file",
                )


@reports(warning="build-context-missing")
def build_context_missing(topo: Topology) -> Iterator[Diagnostic]:
    """A ``build`` context folder, or the ``dockerfile`` in it (default: Dockerfile), does not
    exist on this machine (a warning, like a missing bind source: the file is right, the
    folder is missing here; building fails: "unable to prepare context", "failed to read dockerfile").

    ``build: ./api`` with no api/ folder beside the topology. Git and URL contexts are not checked.
    """
    for s in topo.services.values():
        if s.build is None:
            continue
        context = s.build.context
        if "$" in context or "://" in context or context.startswith(("git@", "~")):
            continue
        here = (*s.path, "build") if s.build.short else (*s.path, "build", "context")
        folder = os.path.normpath(os.path.join(topo.base_dir, context))
        dockerfile = s.build.dockerfile or "Dockerfile"
        if not os.path.isdir(folder):
            yield warning(
                "build-context-missing",
                f"build context {folder} is not a folder",
                here,
                hint="create it, or correct the path (relative to the topology file)",
            )
        elif (
            "$" not in dockerfile
            and not s.build.inline
            and not os.path.isfile(full := os.path.normpath(os.path.join(folder, dockerfile)))
        ):
            at = (*s.path, "build", "dockerfile") if s.build.dockerfile else here
            yield warning(
                "build-context-missing",
                f"dockerfile {full} not found",
                at,
                hint="the dockerfile path is relative to the build context",
            )


def _scan(text: str) -> tuple[int, str | None]:
    """Read ``text`` as Compose's shell-words parser does: (index of the first unquoted operator or
    ``len(text)``, the problem met before it). ``$(...)`` and backquotes are kept as words; any
    other unquoted parenthesis is refused; quotes and backslashes are left to :func:`shlex.split`."""
    quote, escaped, i = "", False, 0
    while i < len(text):
        ch = text[i]
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "`" or text.startswith("$(", i):
            closing = "`" if ch == "`" else ")"
            end = text.find(closing, i + (1 if ch == "`" else 2))
            if end < 0:
                return i, f"unterminated {'`' if ch == '`' else '$('}"
            i = end
        elif ch in "()":
            return i, f"unquoted {ch!r}"
        elif ch in SHELL_OPERATORS:
            return i, None
        i += 1
    return i, None


@reports(error="invalid-command", warning="command-shell-operator")
def invalid_command(topo: Topology) -> Iterator[Diagnostic]:
    """A string ``command`` or ``entrypoint`` that Compose cannot split into words ("invalid command line string").

    ``command: "sh -c 'echo hi"`` (open quote), ``"echo hi\\"`` (trailing backslash), ``"echo $(date"``
    or ``"(cd /app)"`` (unquoted parenthesis). An unquoted ``;``, ``|``, ``&``, ``<`` or ``>`` is a
    warning: Compose keeps only the words before it (``echo a; echo b`` runs ``echo a``).
    """
    for s in topo.services.values():
        options = dict(s.options)
        for key in ("command", "entrypoint"):
            text = options.get(key)
            if not isinstance(text, str):
                continue
            path = (*s.path, key)
            end, problem = _scan(text)
            if problem is None:
                try:
                    shlex.split(text[:end])
                except ValueError as exc:
                    problem = str(exc).lower()
            if problem is not None:
                yield error(
                    "invalid-command",
                    f'{key} of service "{s.name}" is not a valid command line: {problem}',
                    path,
                    hint="quote it, or write the command as a list",
                )
            elif end < len(text):
                yield warning(
                    "command-shell-operator",
                    f'{key} of service "{s.name}" contains an unquoted '
                    f"{text[end]!r}: Compose runs only the words before it",
                    path,
                    hint=f'write ["sh", "-c", {text!r}] to run it in a shell',
                )


@reports(warning="link-without-network")
def link_without_network(topo: Topology) -> Iterator[Diagnostic]:
    """A service links to a service with which it shares no network: the link name does not resolve.

    ``a: {networks: [front], links: [db]}`` with ``db: {networks: [back]}`` (verified on Engine 20.10).
    """
    for s in topo.services.values():
        if s.network_mode:
            continue
        mine = {a.network for a in s.attachments}
        for i, (target, _alias) in enumerate(s.links):
            other = topo.services.get(target)
            if other is None or other.network_mode or target == s.name:
                continue
            if not mine & {a.network for a in other.attachments}:
                yield warning(
                    "link-without-network",
                    f'service "{s.name}" links to "{target}" but they share no '
                    "network: the link name will not resolve",
                    (*s.path, "links", i),
                    hint="attach both to one network (and prefer its aliases to links)",
                )


def _sources(g: Any) -> list[str]:
    return [k for k in ("file", "environment", "content") if getattr(g, k) is not None]


@reports(error=("invalid-config-source", "invalid-secret-source"))
def secret_source(topo: Topology) -> Iterator[Diagnostic]:
    """A secret or config that is not external has no source, or more than one (Compose rejects the file).

    ``secrets: {db: {file: ./db.txt, environment: DB_PASSWORD}}``; ``configs: {c: {}}``.
    """
    for kind, items in (("secret", topo.secrets), ("config", topo.configs)):
        allowed = "file|environment" if kind == "secret" else "file|environment|content"
        for g in items.values():
            found = _sources(g)
            if g.external or len(found) == 1:
                continue
            problem = "sets no source" if not found else f"sets {' and '.join(found)}"
            yield error(
                f"invalid-{kind}-source",
                f"{kind} {g.key} {problem}: one of {allowed} is needed",
                g.path,
                at_key=True,
                hint="keep exactly one, or set external: true",
            )


@reports(error="newer-compose-key")
def newer_compose_key(topo: Topology) -> Iterator[Diagnostic]:
    """A key of the Compose Specification that the Compose topogen is checked against (2.40.3)
    still refuses ("additional properties 'umask' not allowed"): an error, as the file it would
    write is refused by that Compose; a later Compose may accept it.

    ``services: {web: {image: nginx, umask: "0022"}}``.
    """
    found: list[tuple[Path, str]] = [((k,), k) for k in NEWER_TOP if k in topo.document]
    for s in topo.services.values():
        found += [((*s.path, k), k) for k, _ in s.options if k in NEWER_SERVICE]
    for path, key in found:
        yield error(
            "newer-compose-key",
            f"{key} is newer than docker compose {COMPOSE_VERSION}, which refuses it",
            path,
            at_key=True,
            hint=f"leave it out (topogen checks against Compose {COMPOSE_VERSION})",
        )


RULES = (
    newer_compose_key,
    missing_image,
    invalid_image,
    invalid_healthcheck,
    empty_key,
    env_file_missing,
    build_context_missing,
    invalid_command,
    link_without_network,
    secret_source,
)
