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
    # New source files in the main package are only seen without the cached build manifest.
    swift build --package-path Tests/Fuzz -c release --disable-build-manifest-caching --toolset "$PWD/$work/toolset.json" \
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
    local log; log="$work/logs/$target-$(date +%Y%m%dT%H%M%S).log"
    # libFuzzer stops at a finding; start it again (the corpus keeps what it learnt) until the
    # time is up, so an unattended run collects every finding of its time.
    local end=$((SECONDS + seconds))
    while [ "$SECONDS" -lt "$end" ]; do
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:quarantine_size_mb=64}" \
        "$binary" "$work/corpus/$target" -max_total_time=$((end - SECONDS)) -timeout=1 -malloc_limit_mb=512 \
            -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -max_len=131072 -detect_leaks=0 -print_final_stats=1 \
            -artifact_prefix="$work/findings/$target/" >> "$log" 2>&1 || true
    done
    summary "$target" "$log"
}

# Executions, coverage and findings of one run, from its log.
summary() {
    local target=$1 log=$2
    local executions coverage features findings
    executions=$(grep -h "^stat::number_of_executed_units" "$log" | awk '{sum += $2} END {print sum + 0}')
    coverage=$(grep -hoE "cov: [0-9]+" "$log" | tail -1 | awk '{print $2}')
    features=$(grep -hoE "ft: [0-9]+" "$log" | tail -1 | awk '{print $2}')
    findings=$(grep -hc "Test unit written" "$log" || true)
    echo "$target: ${executions} executions, coverage ${coverage:-?} edges (${features:-?} features), ${findings} findings; corpus $(ls "$work/corpus/$target" | wc -l) inputs; log $log"
}

case "${1:-}" in
    build) build ;;
    seeds) seeds ;;
    run) run "$2" "$3" ;;
    all) for target in "${targets[@]}"; do run "$target" "$2"; done ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
esac
