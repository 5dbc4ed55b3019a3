#!/usr/bin/env bash
# Coverage-guided fuzzing of faqsync's parsers with libFuzzer (it ships with the Swift toolchain).
#
#   bash scripts/fuzz.sh build                 # the four fuzz binaries: -sanitize=fuzzer,address, release
#   bash scripts/fuzz.sh seeds                 # seed corpora: fixtures, sample, generated and hostile files, edge cases
#   bash scripts/fuzz.sh run TARGET SECONDS    # fuzz one target (xlsx, xml-parts, csv, snapshot) for SECONDS
#   bash scripts/fuzz.sh all SECONDS           # each target in turn for SECONDS
#
# A finding is a crash, an input that takes over 1 s (-timeout=1), or one that allocates over
# 512 MiB at once (-malloc_limit_mb=512) or grows the process past FUZZ_RSS_MB (default 2048: the
# address sanitizer's own shadow memory and quarantine come on top of what the parser uses).
# Findings land in .build-fuzz/findings/TARGET/; once fixed, copy each into
# Tests/FuzzRegressions/TARGET/, where the regression test replays it on every CI run.
# The working corpus grows in .build-fuzz/corpus/TARGET/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
work=.build-fuzz
targets=(xlsx xml-parts csv snapshot)

build() {
    mkdir -p "$work"
    # gold crashes linking the sanitized binaries (an internal error in its DWARF reader); lld,
    # which ships with the toolchain, links them.
    local swift_bin; swift_bin=$(dirname "$(readlink -f "$(command -v swift)")")
    printf '{ "schemaVersion": "1.0", "linker": { "path": "%s/ld.lld" } }\n' "$swift_bin" > "$work/toolset.json"
    swift build --package-path Tests/Fuzz -c release --toolset "$PWD/$work/toolset.json" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
}

seeds() {
    swift build --product faqsync-fuzz >/dev/null
    rm -rf "$work/seeds"
    .build/debug/faqsync-fuzz seeds "$work/seeds"
    for target in "${targets[@]}"; do
        mkdir -p "$work/corpus/$target"
        cp -n "$work/seeds/$target/"* "$work/corpus/$target/" 2>/dev/null || true
        # Inputs that once crashed stay in the corpus, so the fuzzer keeps exploring around them.
        if [ -d "Tests/FuzzRegressions/$target" ]; then cp -n "Tests/FuzzRegressions/$target/"* "$work/corpus/$target/" 2>/dev/null || true; fi
    done
}

run() {
    local target=$1 seconds=$2
    local binary="Tests/Fuzz/.build/release/fuzz-$target"
    [ -x "$binary" ] || build
    [ -d "$work/corpus/$target" ] || seeds
    mkdir -p "$work/findings/$target" "$work/logs"
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:quarantine_size_mb=64}" \
    "$binary" "$work/corpus/$target" -max_total_time="$seconds" -timeout=1 -malloc_limit_mb=512 \
        -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -max_len=131072 -print_final_stats=1 \
        -artifact_prefix="$work/findings/$target/" 2>&1 | tee "$work/logs/$target-$(date +%Y%m%dT%H%M%S).log" | grep -E "^#[0-9]+.*(INITED|DONE|pulse)|^stat::|==ERROR|SUMMARY|Test unit written" || true
}

case "${1:-}" in
    build) build ;;
    seeds) seeds ;;
    run) run "$2" "$3" ;;
    all) for target in "${targets[@]}"; do run "$target" "$2"; done ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
esac
