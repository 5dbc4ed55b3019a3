#!/usr/bin/env bash
# Boots a real systemd as PID 1 in a throwaway root, to test faqsync's package and units the
# way an operator runs them — without ever touching the host's root filesystem.
#
#   bash scripts/systemd-sandbox.sh boot STATE_DIR        # boots; prints systemd's PID (as the host sees it)
#   bash scripts/systemd-sandbox.sh run STATE_DIR CMD...  # runs CMD inside (root, PID, network, … namespaces of the sandbox)
#   bash scripts/systemd-sandbox.sh stop STATE_DIR        # SIGKILL to systemd: the PID namespace, its mounts and tmpfs go with it
#   bash scripts/systemd-sandbox.sh check                 # exit 0 when this machine can boot one (root, namespaces, overlayfs)
#
# Why this shape. At boot systemd (and systemd-tmpfiles) empties /tmp and rewrites /run, /var
# and /etc, so it must never see the host's root. It gets:
# - its own mount, PID, network, UTS and IPC namespaces (unshare): the host's processes, mounts,
#   interfaces and hostname are out of reach; only a loopback interface exists inside;
# - an overlay root whose lower layer is / (read-only underneath) and whose upper layer lives on
#   a tmpfs: every write lands in memory and vanishes with the sandbox;
# - fresh tmpfs mounts on /tmp and /run, a new /proc (with /proc/sys read-only), /sys read-only
#   (cgroups writable), and a minimal /dev of its own (no host block devices);
# - pivot_root into that root, not chroot: the kernel refuses user namespaces to chrooted
#   processes, and PrivateUsers= in the units needs one (217/USER otherwise).
# Talk to it with `run` (nsenter into its namespaces); kill it with `stop`.
set -euo pipefail

state_pid() { cat "$1/systemd.pid"; }

check() {
    [ "$(id -u)" -eq 0 ] || { echo "needs root (namespaces, mounts)"; return 1; }
    [ -x /lib/systemd/systemd ] || { echo "no /lib/systemd/systemd"; return 1; }
    grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || { echo "no overlayfs"; return 1; }
    unshare --mount --pid --net --fork --propagation private true 2>/dev/null || { echo "cannot create mount/PID/network namespaces"; return 1; }
}

boot() {
    local state=$1
    mkdir -p "$state"
    rm -f "$state/systemd.pid"
    # The child of unshare --fork is PID 1 of the new PID namespace; it prepares the root and
    # execs systemd in its place.
    unshare --mount --pid --net --uts --ipc --fork --propagation private \
        env -i container=faqsync-sandbox PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        bash -c "$(declare -f prepare_root); prepare_root \"\$1\"" prepare "$state" \
        > "$state/boot.log" 2>&1 &
    local unshare_pid=$!
    local pid=""
    for _ in $(seq 1 200); do
        pid=$(pgrep -P "$unshare_pid" 2>/dev/null | head -1 || true)
        if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = systemd ]; then break; fi
        sleep 0.05
    done
    [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = systemd ] || { cat "$state/boot.log" >&2; echo "systemd did not start" >&2; return 1; }
    echo "$pid" > "$state/systemd.pid"
    # Booted when the manager answers and is no longer starting.
    for _ in $(seq 1 600); do
        local running
        running=$(run "$state" systemctl is-system-running 2>/dev/null || true)
        case "$running" in running|degraded) echo "$pid"; return 0 ;; esac
        sleep 0.1
    done
    echo "systemd did not finish booting: $(run "$state" systemctl is-system-running 2>&1 || true)" >&2
    run "$state" systemctl --failed --no-pager >&2 || true
    return 1
}

# Runs inside the new namespaces, as their PID 1, before systemd replaces it.
prepare_root() {
    set -euo pipefail
    local state=$1 base root
    base="$state/mnt"
    mkdir -p "$base"
    mount -t tmpfs -o mode=0755,size=2g faqsync-sandbox "$base"
    mkdir -p "$base/upper" "$base/work" "$base/root"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$base/root"
    root="$base/root"
    mount -t proc proc "$root/proc"
    mount --bind "$root/proc/sys" "$root/proc/sys"
    mount -o remount,bind,ro "$root/proc/sys"
    mount --rbind /sys "$root/sys"
    mount -o remount,bind,ro "$root/sys"
    mount -t tmpfs -o mode=0755 tmpfs "$root/dev"
    for node in null zero full random urandom tty; do
        touch "$root/dev/$node"
        mount --bind "/dev/$node" "$root/dev/$node"
    done
    touch "$root/dev/console" && mount --bind /dev/null "$root/dev/console"
    mkdir -p "$root/dev/pts" "$root/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
    ln -s pts/ptmx "$root/dev/ptmx"
    mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
    mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
    mount -t tmpfs -o mode=0755 tmpfs "$root/run"
    # Units that make no sense in a throwaway root, or would reach for hardware the sandbox has not.
    for unit in postgresql.service ssh.service cron.service e2scrub_reap.service apt-daily.timer apt-daily-upgrade.timer \
                man-db.timer e2scrub_all.timer fstrim.timer systemd-networkd-wait-online.service networking.service console-getty.service; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
    done
    hostname faqsync-sandbox
    cd "$root"
    mkdir -p .host-root
    pivot_root . .host-root
    cd /
    umount -l /.host-root
    rmdir /.host-root
    exec /lib/systemd/systemd --system --unit=multi-user.target
}

run() {
    local state=$1; shift
    nsenter --target "$(state_pid "$state")" --mount --pid --net --uts --ipc --root --wd=/ -- "$@"
}

stop() {
    local state=$1
    [ -f "$state/systemd.pid" ] || return 0
    kill -KILL "$(state_pid "$state")" 2>/dev/null || true
    rm -f "$state/systemd.pid"
}

case "${1:-}" in
    check) check ;;
    boot) boot "$2" ;;
    run) state=$2; shift 2; run "$state" "$@" ;;
    stop) stop "$2" ;;
    *) sed -n '2,8p' "$0"; exit 2 ;;
esac
