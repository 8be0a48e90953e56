"""Drivers: network driver options that the engine (and the kernel) accept and honour."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ..diagnostics import Diagnostic, Path, error, warning
from ..document import BRIDGE
from ..document import MTU_OPT as MTU
from ..resolved import Network, Topology
from ..units import GO_BOOLS
from .registry import reports

IFNAMSIZ = 15

#: Typed field -> (engine option key, drivers that understand it).
TYPED_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bridge_name": (BRIDGE + "name", ("bridge",)),
    "icc": (BRIDGE + "enable_icc", ("bridge",)),
    "ip_masquerade": (BRIDGE + "enable_ip_masquerade", ("bridge",)),
    "host_binding_ipv4": (BRIDGE + "host_binding_ipv4", ("bridge",)),
    "parent": ("parent", ("macvlan", "ipvlan")),
    "macvlan_mode": ("macvlan_mode", ("macvlan",)),
    "ipvlan_mode": ("ipvlan_mode", ("ipvlan",)),
    "ipvlan_flag": ("ipvlan_flag", ("ipvlan",)),
    "encrypted": ("encrypted", ("overlay",)),
}
MODES = {
    "macvlan_mode": ("bridge", "vepa", "passthru", "private"),
    "ipvlan_mode": ("l2", "l3", "l3s"),
    "ipvlan_flag": ("bridge", "private", "vepa"),
}
FALSY = ("false", "0", "no", "off", "f", "n")


def _opt(n: Network, key: str) -> object | None:
    return dict(n.driver_opts).get(key)


def _opt_path(n: Network, key: str, typed: str) -> Path:
    """Where an engine option was written: in raw ``driver_opts`` or as a typed field."""
    return (*n.path, "driver_opts", key) if key in n.raw_driver_opts else (*n.path, typed)


def _managed(topo: Topology) -> Iterator[Network]:
    """Networks topogen creates (external and implicit ones are not ours to check), in file order."""
    return (n for n in topo.in_file_order("networks") if not n.external and not n.implicit)


@reports(error=("bridge-name-too-long", "duplicate-bridge-name"))
def bridge_name(topo: Topology) -> Iterator[Diagnostic]:
    """A bridge interface name is longer than 15 characters (kernel IFNAMSIZ) or used twice.

    ``{bridge_name: my-very-long-bridge}`` fails with "numerical result out of range".
    """
    seen: dict[str, str] = {}
    for n in _managed(topo):
        name = _opt(n, BRIDGE + "name")
        if n.driver != "bridge" or not isinstance(name, str):
            continue
        path = _opt_path(n, BRIDGE + "name", "bridge_name")
        if len(name) > IFNAMSIZ:
            yield error(
                "bridge-name-too-long",
                f"bridge name {name!r} has {len(name)} characters; Linux allows at most {IFNAMSIZ}",
                path,
            )
        if name in seen:
            yield error(
                "duplicate-bridge-name",
                f"bridge name {name!r} is already used by network {seen[name]}",
                path,
            )
        seen.setdefault(name, n.key)


@reports(error="mtu-out-of-range")
def mtu_range(topo: Topology) -> Iterator[Diagnostic]:
    """The MTU is not an integer, or outside 68..65535 (1280.. when IPv6 is enabled); 0 is the default.

    ``{mtu: 9999999}`` or ``{enable_ipv6: true, mtu: 1000}``.
    """
    for n in _managed(topo):
        raw = _opt(n, MTU)
        if raw is None:
            continue
        path = _opt_path(n, MTU, "mtu")
        try:
            mtu = int(str(raw))
        except ValueError:
            yield error("mtu-out-of-range", f"MTU {raw!r} is not an integer", path)
            continue
        low = 1280 if n.enable_ipv6 else 68
        if mtu != 0 and not low <= mtu <= 65535:
            why = (
                "with enable_ipv6 the minimum is 1280" if low == 1280 else "the range is 68..65535"
            )
            yield error(
                "mtu-out-of-range", f"MTU {mtu} is out of range ({why}; 0 means the default)", path
            )


@reports(warning="missing-parent")
def missing_parent(topo: Topology) -> Iterator[Diagnostic]:
    """A macvlan/ipvlan network has no ``parent``: the engine creates a dummy one and the network is isolated.

    ``{driver: macvlan, subnet: 192.168.1.0/24}`` with no ``parent: eth0``.
    """
    for n in _managed(topo):
        if n.driver in ("macvlan", "ipvlan") and not _opt(n, "parent") and not n.internal:
            yield warning(
                "missing-parent",
                f"{n.driver} network {n.key} has no parent: the engine uses a dummy "
                "interface and the network cannot reach the LAN",
                (*n.path, "driver"),
                hint="set parent: eth0 (or internal: true if isolation is intended)",
            )


@reports(error="invalid-driver-mode")
def driver_mode(topo: Topology) -> Iterator[Diagnostic]:
    """A raw macvlan/ipvlan mode or flag the driver does not know, or ``lo`` as parent.

    ``{driver: ipvlan, driver_opts: {ipvlan_mode: l4}}``.
    """
    for n in _managed(topo):
        for key, allowed in MODES.items():
            value = _opt(n, key)
            if value is not None and key.startswith(n.driver) and value not in allowed:
                yield error(
                    "invalid-driver-mode",
                    f"{key} {value!r} is not valid for {n.driver} (one of {', '.join(allowed)})",
                    _opt_path(n, key, key),
                )
        if n.driver in ("macvlan", "ipvlan") and _opt(n, "parent") == "lo":
            yield error(
                "invalid-driver-mode",
                "loopback interface is not a valid parent link",
                _opt_path(n, "parent", "parent"),
            )


@reports(error="shared-parent", warning="shared-parent")
def shared_parent(topo: Topology) -> Iterator[Diagnostic]:
    """Two ipvlan networks, or a macvlan passthru and another macvlan network, share a parent interface.

    ``a: {driver: ipvlan, parent: eth0}`` and ``b: {driver: ipvlan, parent: eth0}`` ("already using parent interface").
    """
    users: dict[tuple[str, str], list[Network]] = defaultdict(list)
    for n in _managed(topo):
        parent = _opt(n, "parent")
        if (
            n.driver in ("macvlan", "ipvlan")
            and isinstance(parent, str)
            and parent
            and not n.internal
        ):
            users[(n.driver, parent)].append(n)
    for (driver, parent), nets in users.items():
        first = nets[0]
        for n in nets[1:]:
            path = _opt_path(n, "parent", "parent")
            passthru = any(_opt(m, "macvlan_mode") == "passthru" for m in (first, n))
            if driver == "ipvlan" or passthru:
                why = (
                    "passthru mode needs the parent to itself"
                    if driver == "macvlan"
                    else "one ipvlan network per parent"
                )
                yield error(
                    "shared-parent",
                    f"network {n.key} uses parent {parent}, already used by {first.key} ({why})",
                    path,
                )
            else:
                yield warning(
                    "shared-parent",
                    f"network {n.key} uses parent {parent}, already used by {first.key}: "
                    "engines before 27.0 allow one macvlan network per parent",
                    path,
                    hint="use a VLAN sub-interface such as eth0.50",
                )


@reports(error="option-wrong-driver")
def option_wrong_driver(topo: Topology) -> Iterator[Diagnostic]:
    """A typed option that the network's driver does not understand (and would silently ignore).

    ``{driver: overlay, bridge_name: br0}`` or ``{driver: bridge, parent: eth0}``.
    """
    for n in topo.networks.values():
        opts = dict(n.driver_opts)
        for typed, (key, drivers) in TYPED_OPTIONS.items():
            if key in opts and key not in n.raw_driver_opts and n.driver not in drivers:
                yield error(
                    "option-wrong-driver",
                    f"{typed} applies to the {' and '.join(drivers)} driver, not {n.driver}",
                    (*n.path, typed),
                    at_key=True,
                )


@reports(error="overlay-not-attachable", warning="overlay-not-attachable")
def overlay_not_attachable(topo: Topology) -> Iterator[Diagnostic]:
    """An overlay network that Compose containers join is not ``attachable`` ("not manually attachable").

    ``{driver: overlay}`` used by a service of a ``compose`` target: add ``attachable: true``.
    A warning in a file that declares no ``targets`` (a plain Compose file): it may be a stack
    file, which ``docker stack deploy`` runs as it is.
    """
    if "compose" not in topo.targets:
        return
    make = error if topo.targets_declared else warning
    hint = "set attachable: true" + (
        ""
        if topo.targets_declared
        else " (a file for docker stack deploy: x-topogen: {targets: [swarm]})"
    )
    used = {a.network for s in topo.services.values() for a in s.attachments}
    for n in _managed(topo):
        if n.driver == "overlay" and n.key in used and n.attachable is not True:
            path = (*n.path, "attachable") if n.attachable is False else n.path
            yield make(
                "overlay-not-attachable",
                f"overlay network {n.key} is joined by Compose containers but is not attachable",
                path,
                at_key=n.attachable is None,
                hint=hint,
            )


@reports(warning="overlay-encrypted-false")
def overlay_encrypted_false(topo: Topology) -> Iterator[Diagnostic]:
    """Raw ``driver_opts: {encrypted: "false"}`` on an overlay: the key's presence turns encryption on.

    ``{driver: overlay, driver_opts: {encrypted: "false"}}`` still encrypts; remove the key instead.
    """
    for n in topo.networks.values():
        value = _opt(n, "encrypted")
        if "encrypted" in n.raw_driver_opts and str(value).lower() in FALSY:
            yield warning(
                "overlay-encrypted-false",
                f"encrypted={value!r} still enables encryption: the engine "
                "only checks that the option is present",
                (*n.path, "driver_opts", "encrypted"),
                hint="remove the option to disable encryption",
            )


@reports(error="host-network-driver")
def host_network_driver(topo: Topology) -> Iterator[Diagnostic]:
    """``host``, ``none`` or ``null`` used as a network driver ("only one instance of host network is allowed").

    ``networks: {hostnet: {driver: host}}``: use ``network_mode: host`` on the service.
    """
    for n in _managed(topo):
        if n.driver in ("host", "none", "null"):
            mode = "host" if n.driver == "host" else "none"
            yield error(
                "host-network-driver",
                f"{n.driver} is not a driver for new networks; the engine has "
                f"exactly one {n.driver} network",
                (*n.path, "driver"),
                hint=f"use network_mode: {mode}",
            )


BOOL_OPTIONS = tuple(BRIDGE + k for k in ("enable_icc", "enable_ip_masquerade", "inhibit_ipv4")) + (
    "com.docker.network.enable_ipv4",
    "com.docker.network.enable_ipv6",
)
GATEWAY_MODES = ("nat", "routed", "nat-unprotected", "isolated")


def _raw_option_problem(n: Network, key: str, value: object) -> str | None:
    """Why the engine refuses (or ignores) one raw driver option, or None."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if key in BOOL_OPTIONS and text not in GO_BOOLS:
        return f"{key}={text!r} is not a boolean the engine parses (true/false, 1/0)"
    if key == "gateway_mode":
        return "there is no gateway_mode option: use com.docker.network.bridge.gateway_mode_ipv4 (or _ipv6), Engine 27+"
    if key.startswith(BRIDGE + "gateway_mode_ipv") and text not in GATEWAY_MODES:
        return f"unknown gateway mode {text!r} (one of {', '.join(GATEWAY_MODES)})"
    if key.startswith(BRIDGE + "gateway_mode_ipv") and text == "isolated" and not n.internal:
        return "gateway mode 'isolated' can only be used for an internal network"
    if key == "vxlanid_list":
        return "a bare vxlanid_list is not recognised: use com.docker.network.driver.overlay.vxlanid_list"
    return None


@reports(error="invalid-driver-option")
def raw_driver_option(topo: Topology) -> Iterator[Diagnostic]:
    """A raw driver option the engine refuses or does not know: a bad boolean, a gateway mode, a misspelt key.

    ``driver_opts: {com.docker.network.bridge.enable_icc: "yes", gateway_mode: routed}``.
    """
    for n in _managed(topo):
        for key, value in n.driver_opts:
            problem = _raw_option_problem(n, key, value) if key in n.raw_driver_opts else None
            if problem:
                yield error(
                    "invalid-driver-option",
                    problem,
                    (*n.path, "driver_opts", key),
                    at_key=key in ("gateway_mode", "vxlanid_list"),
                )  # the key is what is wrong


RULES = (
    bridge_name,
    mtu_range,
    missing_parent,
    driver_mode,
    shared_parent,
    option_wrong_driver,
    overlay_not_attachable,
    overlay_encrypted_false,
    host_network_driver,
    raw_driver_option,
)
