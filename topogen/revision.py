"""A file as it was at a git revision, read without touching the user's checkout.

``REV:PATH`` names a file as ``git show`` does (PATH from the repository's root, ``./PATH``
from the current directory). The folder holding it is exported with ``git archive`` into a
temporary directory, so its ``.env``, included files and bind sources resolve as they did
at that revision; the temporary directory keeps the repository's folder names, so a project
named after its folder keeps its name.
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


class RevisionError(Exception):
    """A revision or a path that git cannot give (a usage error)."""


@dataclass(frozen=True)
class Revision:
    """A file at a revision: where it was exported to, and how to name it to the user."""

    rev: str
    path: str  # from the repository's root, with /
    root: str  # the temporary copy of the repository's tree
    label_prefix: str = ""

    @property
    def file(self) -> str:
        return os.path.join(self.root, *self.path.split("/"))

    def local(self, path: str) -> str:
        """A working-tree path (relative to the current directory) in the exported tree."""
        top = _git("rev-parse", "--show-toplevel").strip()
        return os.path.join(self.root, *_from_root(path, top).split("/"))

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
        yield Revision(rev, inner, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
