#!/usr/bin/env bash
# PostgreSQL 15 with pgvector on a loopback port, for faqsync's PostgreSQL store and its tests.
#
#   bash scripts/postgres.sh install   # PostgreSQL 15 from bookworm; pgvector built from trixie's source package
#   bash scripts/postgres.sh start     # initdb (first time) and pg_ctl start on 127.0.0.1:$PGPORT (default 55432)
#   bash scripts/postgres.sh stop
#   bash scripts/postgres.sh status    # exit 0 when it runs
#
# Why a build: Debian bookworm packages pgvector only for trixie's PostgreSQL 17; trixie's source
# package builds cleanly against PostgreSQL 15 (about 20 s).
set -euo pipefail
PGPORT="${PGPORT:-55432}"
PGDATA="${PGDATA:-${TMPDIR:-/tmp}/faqsync-postgres}"
BIN=/usr/lib/postgresql/15/bin
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }
sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

install() {
    missing=()
    for package in postgresql-15 postgresql-server-dev-15 build-essential dpkg-dev; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        $sudo_cmd apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
    fi
    if [ -f /usr/share/postgresql/15/extension/vector.control ]; then return; fi
    echo "Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" | $sudo_cmd tee /etc/apt/sources.list.d/faqsync-trixie-src.sources >/dev/null
    $sudo_cmd apt-get update -q
    work=$(mktemp -d)
    (cd "$work" && apt-get source --download-only pgvector >/dev/null && dpkg-source -x pgvector_*.dsc pgvector >/dev/null)
    make -C "$work/pgvector" PG_CONFIG=$BIN/pg_config >/dev/null
    $sudo_cmd make -C "$work/pgvector" PG_CONFIG=$BIN/pg_config install >/dev/null
    rm -rf "$work"
}

start() {
    if status; then echo "PostgreSQL already runs on 127.0.0.1:$PGPORT (data in $PGDATA)"; return; fi
    mkdir -p "$PGDATA"; chown postgres "$PGDATA" 2>/dev/null || true
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        as_postgres $BIN/initdb -D "$PGDATA" -A trust -U postgres >/dev/null
    fi
    as_postgres $BIN/pg_ctl -D "$PGDATA" -o "-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1" -l "$PGDATA/server.log" -w start >/dev/null
    echo "PostgreSQL on 127.0.0.1:$PGPORT (data in $PGDATA)"
}

status() { [ -f "$PGDATA/PG_VERSION" ] && as_postgres $BIN/pg_ctl -D "$PGDATA" status >/dev/null 2>&1; }

stop() { as_postgres $BIN/pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null || true; }

"${1:-start}"
