"""A Docker API proxy that puts one label on everything created through it.

The live tests point every client they run (the docker CLI, Compose, ``docker stack deploy``,
``topogen verify``) at this proxy instead of the engine, so that each container, network,
volume, swarm service (and its tasks' containers and volumes), secret and config they create
carries ``KEY=VALUE``, whoever creates it. Cleanup then removes only what carries the label:
nothing another user of the engine created is touched.

Only the JSON body of the ``create`` (and ``services/<id>/update``) requests is changed;
everything else is relayed byte for byte, including streamed bodies (``docker import``,
builds) and hijacked connections (``attach``, ``exec``). The proxy speaks to a Unix socket
or a plain TCP engine; it never opens a connection anywhere else.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import threading
from typing import Any, BinaryIO

_CREATE = re.compile(
    rb"^(?:/v[0-9.]+)?/(containers|networks|volumes|secrets|configs|services)/create(?:\?|$)"
)
_UPDATE = re.compile(rb"^(?:/v[0-9.]+)?/services/[^/?]+/update(?:\?|$)")


def upstream_address(docker_host: str) -> tuple[int, Any] | None:
    """The socket family and address of ``unix://PATH`` or ``tcp://HOST:PORT``; None otherwise
    (``ssh://``, TLS: the proxy cannot speak to those)."""
    if docker_host.startswith("unix://"):
        return socket.AF_UNIX, docker_host[len("unix://") :]
    m = re.fullmatch(r"tcp://\[?([^\]]+?)\]?:(\d+)/?", docker_host)
    if m and not os.environ.get("DOCKER_TLS_VERIFY"):
        return socket.AF_INET6 if ":" in m.group(1) else socket.AF_INET, (
            m.group(1),
            int(m.group(2)),
        )
    return None


def add_labels(kind: str, body: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """The request body with ``labels`` added where the engine keeps labels for ``kind``."""
    body["Labels"] = {**(body.get("Labels") or {}), **labels}
    if kind == "services":
        spec = (body.get("TaskTemplate") or {}).get("ContainerSpec")
        if isinstance(spec, dict):
            spec["Labels"] = {**(spec.get("Labels") or {}), **labels}
            for mount in spec.get("Mounts") or []:  # volumes the tasks create
                if isinstance(mount, dict) and mount.get("Type", "volume") == "volume":
                    opts = mount.setdefault("VolumeOptions", {}) or {}
                    opts["Labels"] = {**(opts.get("Labels") or {}), **labels}
                    mount["VolumeOptions"] = opts
    return body


class LabelProxy:
    """``with LabelProxy(upstream, {"k": "v"}) as url:`` -> ``unix:///tmp/.../docker.sock``."""

    def __init__(self, upstream: tuple[int, Any], labels: dict[str, str]) -> None:
        self.upstream, self.labels = upstream, labels
        self._dir = tempfile.mkdtemp(prefix="tglp-")
        self.path = os.path.join(self._dir, "docker.sock")
        self.url = f"unix://{self.path}"
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._closed = threading.Event()

    def start(self) -> str:
        self._server.bind(self.path)
        self._server.listen(64)
        threading.Thread(target=self._accept, name="labelproxy", daemon=True).start()
        return self.url

    def stop(self) -> None:
        self._closed.set()
        try:
            self._server.close()
        finally:
            for name in (self.path, self._dir):
                try:
                    (os.unlink if name == self.path else os.rmdir)(name)
                except OSError:
                    pass

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ relay
    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.socket(self.upstream[0], socket.SOCK_STREAM)
        try:
            upstream.connect(self.upstream[1])
        except OSError:
            client.close()
            upstream.close()
            return
        back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        back.start()
        reader = client.makefile("rb")
        try:
            while self._request(reader, upstream):
                pass
        except OSError:
            pass
        finally:
            _shutdown(upstream)
            back.join(timeout=600)
            reader.close()
            client.close()
            upstream.close()

    def _request(self, reader: BinaryIO, upstream: socket.socket) -> bool:
        """Relay one request; False at the end of the connection (EOF or a hijack that ended)."""
        head = _read_head(reader)
        if not head:
            return False
        lines = head.split(b"\r\n")
        method, target = (lines[0].split(b" ") + [b"", b""])[:2]
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (ln.partition(b":") for ln in lines[1:] if ln)
        }
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        length = int(headers.get(b"content-length", b"0") or 0)
        m = _CREATE.match(target) or _UPDATE.match(target)
        if method == b"POST" and m:
            body = _read_chunked(reader) if chunked else reader.read(length)
            upstream.sendall(
                self._labelled(m.group(1) if m.re is _CREATE else b"services", lines, body)
            )
        else:
            upstream.sendall(head)
            if chunked:
                _copy_chunked(reader, upstream)
            elif length:
                _copy(reader, upstream, length)
        if b"upgrade" in headers or headers.get(b"connection", b"").lower() == b"upgrade":
            _copy(reader, upstream, None)  # hijacked: raw bytes both ways until EOF
            return False
        return True

    def _labelled(self, kind: bytes, lines: list[bytes], body: bytes) -> bytes:
        try:
            data = json.loads(body or b"{}")
            body = json.dumps(add_labels(kind.decode(), data, self.labels)).encode()
        except (ValueError, AttributeError):
            pass  # not a JSON object: relayed as it is, the engine will say what is wrong
        keep = [
            ln
            for ln in lines[1:]
            if ln
            and ln.split(b":")[0].strip().lower() not in (b"content-length", b"transfer-encoding")
        ]
        return b"\r\n".join([lines[0], *keep, b"Content-Length: %d" % len(body), b"", b""]) + body


def _read_head(reader: BinaryIO) -> bytes:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline(65536)
        if not line:
            return b""
        if head == b"" and line in (b"\r\n", b"\n"):
            continue  # stray CRLF between requests
        head += line
    return head


def _read_chunked(reader: BinaryIO) -> bytes:
    out = b""
    while True:
        size = int(reader.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while reader.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return out
        out += reader.read(size)
        reader.readline()


def _copy_chunked(reader: BinaryIO, upstream: socket.socket) -> None:
    while True:
        line = reader.readline()
        upstream.sendall(line)
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while True:
                trailer = reader.readline()
                upstream.sendall(trailer)
                if trailer in (b"\r\n", b"\n", b""):
                    return
        _copy(reader, upstream, size + 2)


def _copy(reader: BinaryIO, upstream: socket.socket, n: int | None) -> None:
    while n is None or n > 0:
        data = reader.read1(65536 if n is None else min(n, 65536))  # type: ignore[attr-defined]
        if not data:
            return
        upstream.sendall(data)
        if n is not None:
            n -= len(data)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        _shutdown(dst)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
