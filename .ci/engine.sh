#!/usr/bin/env bash
# Start / stop a private Docker Engine (Debian docker.io, 20.10) for topogen's live tests.
#
#   bash .ci/engine.sh start   # install if needed, start dockerd, import busybox image, veth pair
#   bash .ci/engine.sh stop    # leave swarm, stop dockerd, delete veth pair (never fails)
#   bash .ci/engine.sh status  # print whether the engine answers
#
# Both start and stop are idempotent.  See .ci/ENGINE.md.
set -euo pipefail

TG_STATE_DIR="${TG_STATE_DIR:-/var/lib/topogen-ci-docker}"        # --data-root
TG_EXEC_ROOT="${TG_EXEC_ROOT:-/var/run/topogen-ci-docker}"         # --exec-root
TG_PIDFILE="${TG_PIDFILE:-/var/run/topogen-ci-dockerd.pid}"
TG_LOG="${TG_LOG:-/var/log/topogen-ci-dockerd.log}"
TG_SOCK="${TG_SOCK:-/var/run/docker.sock}"
TG_CONFIG="${TG_CONFIG:-/etc/topogen-ci/daemon.json}"
TG_ADDR_POOL="${TG_ADDR_POOL:-base=10.200.0.0/16,size=24}"         # keeps docker0/gwbridge off 172.x
TG_BIP="${TG_BIP:-10.199.0.1/24}"                                  # docker0
TG_IMAGE="${TG_IMAGE:-topogen/busybox:latest}"
TG_VETH0="${TG_VETH0:-tgveth0}"
TG_VETH1="${TG_VETH1:-tgveth1}"
TG_WAIT="${TG_WAIT:-60}"

export DOCKER_HOST="unix://${TG_SOCK}"
DOCKER="${DOCKER:-$(command -v docker || echo /usr/bin/docker)}"

log() { printf '[engine.sh] %s\n' "$*" >&2; }

engine_up() {
    timeout 10 "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

dockerd_pid() {
    local pid
    [[ -f "$TG_PIDFILE" ]] || return 1
    pid="$(cat "$TG_PIDFILE" 2>/dev/null || true)"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    # make sure the pid really is a dockerd (pid reuse)
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 1
    echo "$pid"
}

install_packages() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    [[ -x /bin/busybox || -x /usr/bin/busybox ]] || missing+=(busybox-static)
    command -v iptables >/dev/null 2>&1 || missing+=(iptables)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    if ((${#missing[@]})); then
        log "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        local aptlog=/tmp/topogen-ci-apt.log
        if ! { apt-get update -qq && NEEDRESTART_MODE=l apt-get install -y -qq "${missing[@]}"; } >"$aptlog" 2>&1; then
            cat "$aptlog" >&2
            log "apt-get failed"
            exit 1
        fi
    fi
    # busybox (not busybox-static) is dynamically linked and useless in a scratch image
    if ! file_is_static "$(busybox_path)"; then
        log "installing busybox-static"
        DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l apt-get install -y -qq busybox-static >/tmp/topogen-ci-apt.log 2>&1 \
            || { cat /tmp/topogen-ci-apt.log >&2; exit 1; }
    fi
}

busybox_path() {
    if [[ -x /bin/busybox ]]; then echo /bin/busybox; else echo /usr/bin/busybox; fi
}

file_is_static() {
    # no PT_INTERP program header => static; avoid depending on `file`
    ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter' \
        && [[ -x "$1" ]]
}

start_dockerd() {
    local iptables_mode="$1"
    mkdir -p "$TG_STATE_DIR" "$TG_EXEC_ROOT" "$(dirname "$TG_CONFIG")" "$(dirname "$TG_LOG")"
    [[ -f "$TG_CONFIG" ]] || echo '{}' >"$TG_CONFIG"
    rm -f "$TG_PIDFILE"
    # a stale socket from a crashed daemon makes dockerd refuse to start
    [[ -S "$TG_SOCK" ]] && ! engine_up && rm -f "$TG_SOCK"
    log "starting dockerd (iptables: $iptables_mode), log: $TG_LOG"
    {
        echo "===== $(date -u +%FT%TZ) dockerd start (iptables: $iptables_mode)"
    } >>"$TG_LOG"
    # setsid: detach from the caller's process group so the caller's
    # job control / timeouts do not kill the daemon.
    setsid dockerd \
        --config-file "$TG_CONFIG" \
        --data-root "$TG_STATE_DIR" \
        --exec-root "$TG_EXEC_ROOT" \
        --pidfile "$TG_PIDFILE" \
        --host "unix://${TG_SOCK}" \
        --dns 127.0.0.1 \
        --bip "$TG_BIP" \
        --default-address-pool "$TG_ADDR_POOL" \
        --storage-driver overlay2 \
        </dev/null >>"$TG_LOG" 2>&1 &
    local child=$!
    local i
    for ((i = 0; i < TG_WAIT * 2; i++)); do
        if engine_up; then
            log "engine up after ~$((i / 2)) s (pid $(cat "$TG_PIDFILE" 2>/dev/null || echo "$child"))"
            return 0
        fi
        if ! kill -0 "$child" 2>/dev/null; then
            log "dockerd exited early"
            return 1
        fi
        sleep 0.5
    done
    log "engine did not answer within ${TG_WAIT} s"
    kill "$child" 2>/dev/null || true
    sleep 2
    kill -9 "$child" 2>/dev/null || true
    return 1
}

select_iptables() {
    # $1 = nft|legacy ; switches the Debian alternatives used by dockerd
    local which="$1"
    update-alternatives --set iptables "/usr/sbin/iptables-$which" >/dev/null 2>&1 || true
    update-alternatives --set ip6tables "/usr/sbin/ip6tables-$which" >/dev/null 2>&1 || true
}

current_iptables() {
    if iptables --version 2>/dev/null | grep -q nf_tables; then echo nft; else echo legacy; fi
}

import_image() {
    if "$DOCKER" image inspect "$TG_IMAGE" >/dev/null 2>&1; then
        log "image $TG_IMAGE present"
        return 0
    fi
    local t0 root bb a
    t0=$(date +%s)
    bb="$(busybox_path)"
    root="$(mktemp -d /tmp/topogen-busybox-root.XXXXXX)"
    # shellcheck disable=SC2064
    trap "rm -rf '$root'" RETURN
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,var/www,var/run,run}
    chmod 1777 "$root/tmp"
    cp "$bb" "$root/bin/busybox"
    # one symlink per applet, at its canonical place (bin/sh, sbin/ip, usr/bin/wget, ...)
    while read -r a; do
        [[ -z "$a" || "$a" == bin/busybox ]] && continue
        mkdir -p "$root/$(dirname "$a")"
        [[ -e "$root/$a" ]] || ln -s /bin/busybox "$root/$a"
    done < <("$bb" --list-full)
    for a in nc ping nslookup ip wget httpd sleep sh; do
        [[ -e "$root/bin/$a" || -e "$root/sbin/$a" || -e "$root/usr/bin/$a" || -e "$root/usr/sbin/$a" ]] \
            || { log "busybox lacks applet $a"; return 1; }
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    tar -C "$root" -c . | "$DOCKER" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["sh"]' \
        - "$TG_IMAGE" >/dev/null
    log "imported $TG_IMAGE in $(($(date +%s) - t0)) s"
}

make_veth() {
    if ! ip link show "$TG_VETH0" >/dev/null 2>&1; then
        ip link del "$TG_VETH1" >/dev/null 2>&1 || true
        ip link add "$TG_VETH0" type veth peer name "$TG_VETH1"
        log "created veth pair $TG_VETH0/$TG_VETH1"
    fi
    ip link set "$TG_VETH0" up
    ip link set "$TG_VETH1" up
}

cmd_start() {
    local t0
    t0=$(date +%s)
    [[ $EUID -eq 0 ]] || { log "must run as root"; exit 1; }
    install_packages
    if engine_up; then
        log "engine already answering on $DOCKER_HOST"
    else
        if pid="$(dockerd_pid)"; then
            log "dockerd pid $pid exists but does not answer; stopping it"
            stop_dockerd
        fi
        # nft is the backend that works here: with iptables-legacy dockerd starts
        # but even same-network container traffic is dropped (see ENGINE.md).
        local first=nft
        if [[ -x /usr/sbin/iptables-nft ]]; then
            [[ "$(current_iptables)" == nft ]] || select_iptables nft
        else
            first="$(current_iptables)"
        fi
        if ! start_dockerd "$first"; then
            # The other iptables backend is the usual fix ("iptables failed", "nf_tables" errors).
            local other=legacy
            [[ "$first" == legacy ]] && other=nft
            log "retrying with iptables-$other"
            select_iptables "$other"
            if ! start_dockerd "$other"; then
                log "dockerd failed to start; last log lines:"
                tail -n 60 "$TG_LOG" >&2 || true
                select_iptables "$first"
                exit 1
            fi
        fi
    fi
    import_image
    make_veth
    log "ready in $(($(date +%s) - t0)) s: DOCKER_HOST=$DOCKER_HOST image=$TG_IMAGE macvlan parent=$TG_VETH0"
}

stop_dockerd() {
    local pid i
    pid="$(dockerd_pid)" || return 0
    log "stopping dockerd pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "dockerd did not exit in 30 s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
    fi
    # managed containerd started by this dockerd
    local cpid
    cpid="$(cat "$TG_EXEC_ROOT/containerd/containerd.pid" 2>/dev/null || true)"
    if [[ -n "$cpid" ]] && kill -0 "$cpid" 2>/dev/null \
        && [[ "$(cat "/proc/$cpid/comm" 2>/dev/null)" == containerd ]]; then
        kill -TERM "$cpid" 2>/dev/null || true
        sleep 1
    fi
    rm -f "$TG_PIDFILE"
}

cmd_stop() {
    set +e
    if engine_up; then
        local state
        state="$(timeout 10 "$DOCKER" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)"
        if [[ "$state" == active || "$state" == pending ]]; then
            log "leaving swarm"
            timeout 60 "$DOCKER" swarm leave --force >/dev/null 2>&1
        fi
    fi
    stop_dockerd
    if ip link show "$TG_VETH0" >/dev/null 2>&1; then
        ip link del "$TG_VETH0" 2>/dev/null && log "deleted veth pair $TG_VETH0/$TG_VETH1"
    fi
    log "stopped"
    return 0
}

cmd_status() {
    if engine_up; then
        "$DOCKER" version --format 'client {{.Client.Version}} (API {{.Client.APIVersion}}), server {{.Server.Version}} (API {{.Server.APIVersion}})'
        echo "DOCKER_HOST=$DOCKER_HOST"
    else
        echo "engine not reachable on $DOCKER_HOST"
        return 1
    fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop || true ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
