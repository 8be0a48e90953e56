"""A file as it was at a git revision, read without touching the user's checkout.

``REV:PATH`` names a file as ``git show`` does (PATH from the repository's root, ``./PATH``
from the current directory). The folder holding it is exported with ``git archive`` into a
temporary directory, so its ``.env``, included files and bind sources resolve as they did
at that revision; the temporary directory keeps the repository's folder names, so a project
named after its folder keeps its name. What the file names outside its folder (``include:``,
``extends: {file:}``, ``env_file:``, override files) is exported too, with the ``.env`` beside
each included file, and what those name in turn.
"""

from __future__ import annotations

import io
import os
import posixpath
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

#: At most this many files are followed from the first one (include chains, extends).
MAX_FOLLOW = 1000


class RevisionError(Exception):
    """A revision or a path that git cannot give (a usage error)."""


@dataclass(frozen=True)
class Revision:
    """A file at a revision: where it was exported to, and how to name it to the user."""

    rev: str
    path: str  # from the repository's root, with /
    root: str  # the temporary copy of the repository's tree
    label_prefix: str = ""
    commit: str = ""
    top: str = ""  # the repository's working tree

    @property
    def file(self) -> str:
        return os.path.join(self.root, *self.path.split("/"))

    def local(self, path: str) -> str:
        """A working-tree path (relative to the current directory) in the exported tree."""
        top = _git("rev-parse", "--show-toplevel").strip()
        inner = _from_root(path, top)
        if self.commit:
            _follow(self.top, self.commit, self.root, inner)
        return os.path.join(self.root, *inner.split("/"))

    def label(self, file: str) -> str:
        """``REV:path`` for a file of the exported tree; other names unchanged."""
        prefix = self.root + os.sep
        if file.startswith(prefix):
            return f"{self.rev}:{file[len(prefix) :].replace(os.sep, '/')}"
        return file


def split(spec: str) -> tuple[str, str] | None:
    """``REV:PATH`` -> (REV, PATH); None when ``spec`` names an existing file or has no colon."""
    if os.path.exists(spec) or ":" not in spec:
        return None
    rev, _, path = spec.partition(":")
    return (rev, path) if rev and path else None


@contextmanager
def export(rev: str, path: str) -> Iterator[Revision]:
    """The folder of ``path`` at ``rev`` in a temporary directory, removed afterwards."""
    top = _git("rev-parse", "--show-toplevel").strip()
    relative = path.startswith(("./", "../")) or os.path.isabs(path)
    inner = _from_root(path, top) if relative else posixpath.normpath(path)
    commit = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    if not commit:
        raise RevisionError(f"unknown revision {rev!r}")
    if subprocess.run(
        ["git", "cat-file", "-e", f"{commit}:{inner}"], check=False, capture_output=True
    ).returncode:
        raise RevisionError(f"{inner} does not exist at {rev}")
    folder = posixpath.dirname(inner)
    tmp = tempfile.mkdtemp(prefix="topogen-rev-")
    try:
        root = os.path.join(tmp, os.path.basename(top))
        os.makedirs(root)
        data = subprocess.run(
            ["git", "-C", top, "archive", "--format=tar", commit, *([folder] if folder else [])],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(root, filter="data")
        _follow(top, commit, root, inner)
        yield Revision(rev, inner, root, commit=commit, top=top)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _follow(top: str, commit: str, root: str, first: str) -> None:
    """Export ``first`` (a path from the repository's root) if it is missing, then every file
    it names that is not exported yet, recursively (a project's folder ``.env`` with it)."""
    pending, seen = [(first, True)], set[str]()
    while pending and len(seen) < MAX_FOLLOW:
        inner, project = pending.pop()
        if inner in seen or inner == ".." or inner.startswith("../"):
            continue  # followed already, or outside the repository: Compose reports it
        seen.add(inner)
        here = os.path.join(root, *inner.split("/"))
        if not os.path.exists(here):
            folder = posixpath.dirname(inner)
            beside = [posixpath.join(folder, ".env")] if project else []
            for path in (inner, *beside):
                _extract(top, commit, path, root)
        if project and os.path.isfile(here):
            base = posixpath.dirname(inner)
            pending += [
                (posixpath.normpath(posixpath.join(base, ref)), is_project)
                for ref, is_project in _references(here)
            ]


def _references(file: str) -> list[tuple[str, bool]]:
    """The relative paths a Compose file names: (path, whether it is a Compose file)."""
    try:
        with open(file, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    if not isinstance(data, dict):
        return []
    found: list[tuple[str, bool]] = []
    for item in _items(data.get("include")):
        if isinstance(item, dict):
            found += [(p, True) for p in _items(item.get("path"))]
            found += [(p, False) for p in _items(item.get("env_file"))]
        else:
            found.append((item, True))
    services = data.get("services")
    for service in services.values() if isinstance(services, dict) else ():
        if not isinstance(service, dict):
            continue
        extends = service.get("extends")
        if isinstance(extends, dict):
            found += [(p, True) for p in _items(extends.get("file"))]
        for env in _items(service.get("env_file")):
            found += [(p, False) for p in _items(env.get("path") if isinstance(env, dict) else env)]
    return [
        (p, is_project)
        for p, is_project in found
        if isinstance(p, str) and p and "$" not in p and not os.path.isabs(p)
    ]


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _extract(top: str, commit: str, path: str, root: str) -> None:
    """``path`` at ``commit`` into ``root``; nothing when it does not exist there."""
    done = subprocess.run(
        ["git", "-C", top, "archive", "--format=tar", commit, "--", path],
        capture_output=True,
        check=False,
    )
    if done.returncode == 0:
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
            tar.extractall(root, filter="data")


def _from_root(path: str, top: str) -> str:
    """A working-tree path (absolute, or from the current directory) as a path from the
    repository's root ``top``."""
    inner = os.path.relpath(os.path.realpath(path), os.path.realpath(top))
    if inner.startswith(os.pardir):
        raise RevisionError(f"{path} is outside the repository {top}")
    return inner.replace(os.sep, "/")


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], check=False, capture_output=True, text=True)
    except FileNotFoundError:
        raise RevisionError("git is not installed") from None
    if done.returncode and "--quiet" not in args:
        raise RevisionError(
            done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "git failed"
        )
    return done.stdout
