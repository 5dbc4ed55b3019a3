#!/usr/bin/env bash
# Takes the screenshots of the FAQ team's page kept in docs/team-page/: each state an editor meets
# (normal, skipped rows, search results, a failed save), in Russian and English, as Debian's
# chromium renders them headless. They come from the browser test itself
# (TeamPageBrowserTests, on the real fixture in ../shared/fixtures), so what is kept is what is
# checked. Needs what scripts/install-deps.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/team-page
FAQSYNC_SCREENSHOTS="$PWD/docs/team-page" swift test --filter TeamPageBrowserTests
ls docs/team-page
