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
#   (cgroups writable), and a minimal /dev of its own: nodes made with mknod, no host block
#   devices, and no bind mount of a host node (systemd's chmod of /dev/console would reach it);
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
    # A cgroup of its own in every hierarchy, and a cgroup namespace rooted there: systemd creates
    # its slices and scopes inside it, and `stop` removes it whole.
    local cgroup="faqsync-sandbox-$(basename "$state")"
    echo "$cgroup" > "$state/cgroup"
    bash -c '
        for hierarchy in /sys/fs/cgroup/*/; do
            mountpoint -q "$hierarchy" || continue
            mkdir -p "$hierarchy$1"
            # cpuset takes no task until its cpus and memory nodes are set: the parent'"'"'s.
            for file in cpuset.cpus cpuset.mems; do
                [ -f "$hierarchy$file" ] && cat "$hierarchy$file" > "$hierarchy$1/$file"
            done
            echo $$ > "$hierarchy$1/cgroup.procs"
        done
        exec unshare --cgroup --mount --pid --net --uts --ipc --fork --propagation private \
            env -i container=faqsync-sandbox PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            bash -c "$2; prepare_root \"\$1\"" prepare "$3"' cgroup-setup "$cgroup" "$(declare -f prepare_root)" "$state" \
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
    # The cgroup hierarchies mounted anew from inside the cgroup namespace, so that they are
    # rooted at the sandbox's own cgroup instead of showing (and letting systemd write) the host's.
    mount -t tmpfs -o mode=0755 cgroups "$root/sys/fs/cgroup"
    local line hierarchy options
    while read -r line; do
        hierarchy=$(echo "$line" | cut -d' ' -f2); options=$(echo "$line" | cut -d' ' -f4)
        case "$hierarchy" in /sys/fs/cgroup/*) ;; *) continue ;; esac
        mkdir -p "$root$hierarchy"
        case "$(echo "$line" | cut -d' ' -f3)" in
            cgroup2) mount -t cgroup2 cgroup2 "$root$hierarchy" ;;
            cgroup) mount -t cgroup -o "$(echo "$options" | tr ',' '\n' | grep -vE '^(rw|ro|relatime|nosuid|nodev|noexec)$' | paste -sd,)" cgroup "$root$hierarchy" ;;
        esac
    done < /proc/mounts
    mount -o remount,bind,ro "$root/sys"
    # Device nodes of its own (mknod), never bind mounts of the host's: systemd chmods and chowns
    # /dev/console and friends at boot, and through a bind mount that would change the host's node.
    mount -t tmpfs -o mode=0755 tmpfs "$root/dev"
    mknod -m 0666 "$root/dev/null" c 1 3
    mknod -m 0666 "$root/dev/zero" c 1 5
    mknod -m 0666 "$root/dev/full" c 1 7
    mknod -m 0666 "$root/dev/random" c 1 8
    mknod -m 0666 "$root/dev/urandom" c 1 9
    mknod -m 0666 "$root/dev/tty" c 5 0
    # The console: what systemd writes there is discarded.
    mknod -m 0600 "$root/dev/console" c 1 3
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
    nsenter --target "$(state_pid "$state")" --mount --pid --net --uts --ipc --cgroup --root --wd=/ -- "$@"
}

stop() {
    local state=$1
    if [ -f "$state/systemd.pid" ]; then
        local pid; pid=$(state_pid "$state")
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.05; done
        rm -f "$state/systemd.pid"
    fi
    # Its cgroups go too, once their processes are gone (the PID namespace died with systemd).
    if [ -f "$state/cgroup" ]; then
        local cgroup; cgroup=$(cat "$state/cgroup")
        for _ in $(seq 1 50); do
            local left=0
            for hierarchy in /sys/fs/cgroup/*/; do
                [ -d "$hierarchy$cgroup" ] || continue
                find "$hierarchy$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null || true
                [ -d "$hierarchy$cgroup" ] && left=1
            done
            [ "$left" -eq 0 ] && break
            sleep 0.1
        done
        rm -f "$state/cgroup"
    fi
}

case "${1:-}" in
    check) check ;;
    boot) boot "$2" ;;
    run) state=$2; shift 2; run "$state" "$@" ;;
    stop) stop "$2" ;;
    *) sed -n '2,8p' "$0"; exit 2 ;;
esac
