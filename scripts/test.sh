#!/usr/bin/env bash
# Sets up what the tests need on a fresh Debian machine with Swift, then runs the whole suite.
# This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

if [ ! -f ../shared/fixtures/vtb-belarus-faq.xlsx ] && [ -z "${FAQSYNC_FIXTURES:-}" ]; then
    echo "The shared fixtures are missing: expected ../shared/fixtures/ beside the project (or set FAQSYNC_FIXTURES)." >&2
    exit 1
fi

# A real PostgreSQL with pgvector on a loopback port for the PostgreSQL store's tests; tests
# create and drop databases of their own. Stopped at the end if this script started it.
bash scripts/postgres.sh install
export PGPORT="${PGPORT:-55432}"
export FAQSYNC_TEST_PGDATA="${PGDATA:-${TMPDIR:-/tmp}/faqsync-postgres}"
if ! bash scripts/postgres.sh status; then
    bash scripts/postgres.sh start
    trap 'bash scripts/postgres.sh stop' EXIT
fi
export FAQSYNC_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"

# The Debian package (release build, lintian-checked), for the service test that installs it under
# a real systemd booted in a throwaway root (Tests/ServiceTests, scripts/systemd-sandbox.sh).
FAQSYNC_DEB="$(bash scripts/build-deb.sh | tail -n 1)"
export FAQSYNC_DEB

swift build --build-tests
# Serially: many tests run real processes (the CLI, daemons, servers) and measure how they react
# in time; on a 2-core machine, running them all at once makes them measure each other.
swift test --no-parallel "$@"
