#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time over a copy of its seed corpus,
# so the checked-in corpus never changes under a test run.
# usage: run_fuzzer.sh BINARY CORPUS_DIR SECONDS
set -euo pipefail
binary=$1 corpus=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -d "$corpus" ]; then cp -r "$corpus"/. "$work"/; fi
exec "$binary" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 \
  -artifact_prefix="$work/" "$work"
