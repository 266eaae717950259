#!/usr/bin/env bash
# cli_usage.sh — the CLI's own surface: --help of every verb, --version,
# unknown verbs and options, missing and malformed arguments (exit 2 with
# the one-line "accinf: error:" report).  Needs no model.
source "$(dirname "$0")/common.bash"

expect_ok "accinf --help" -- "$ACCINF" --help
check "--help lists the verbs" grep -q "tokenize" "$WORK/out"
expect_ok "accinf --version" -- "$ACCINF" --version
check "--version prints a version" grep -Eq '^accinf [0-9]+\.[0-9]+\.[0-9]+$' "$WORK/out"

for verb in info tokenize logits run bench; do
    expect_ok "$verb --help" -- "$ACCINF" "$verb" --help
    check "$verb --help shows usage" grep -q "^usage: accinf $verb " "$WORK/out"
    check "$verb --help lists --help" grep -q -- "--help" "$WORK/out"
    expect_ok "help $verb" -- "$ACCINF" help "$verb"
    expect_error 2 "unknown option" "$verb --no-such-option" -- "$ACCINF" "$verb" --no-such-option
    expect_error 2 "missing MODEL" "$verb without MODEL" -- "$ACCINF" "$verb"
done

# every option the run verb documents is in its help
"$ACCINF" run --help >"$WORK/help"
for opt in --prompt --max-new-tokens --temperature --top-k --top-p --min-p --seed --stop \
    --ignore-eos --threads --ctx --stats --json; do
    check "run --help documents $opt" grep -q -- "$opt" "$WORK/help"
done

expect_error 2 "frobnicate" "unknown verb" -- "$ACCINF" frobnicate
expect_error 2 "VERB" "no verb" -- "$ACCINF"
expect_error 2 "--bogus" "unknown global option" -- "$ACCINF" --bogus
expect_error 2 "--threads" "non-integer --threads" -- "$ACCINF" run m --prompt x --threads abc
expect_error 2 "--temperature" "non-number --temperature" -- "$ACCINF" run m --prompt x --temperature hot
expect_error 2 "--temperature" "negative temperature" -- "$ACCINF" run m --prompt x --temperature -1
expect_error 2 "--top-p" "top-p out of range" -- "$ACCINF" run m --prompt x --top-p 1.5
expect_error 2 "--max-new-tokens" "-n needs a value" -- "$ACCINF" run m --prompt x -n
expect_error 2 "unexpected argument" "two models" -- "$ACCINF" info a b
expect_error 2 "--prompt" "run without a prompt" -- "$ACCINF" run m
expect_error 2 "--reps" "bench --reps 0" -- "$ACCINF" bench m --reps 0

finish
