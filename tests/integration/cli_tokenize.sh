#!/usr/bin/env bash
# cli_tokenize.sh — `accinf tokenize` against the ids Hugging Face tokenizers
# produced (tests/fixtures/tokenizers/*/cases.json): with and without
# special tokens, --decode, and the three ways to name the tokenizer
# (model directory, tokenizer-only directory, tokenizer.json file).
source "$(dirname "$0")/common.bash"

# check_cases DIR STEP: every STEP-th case of DIR/cases.json (text via a file,
# so newlines and trailing spaces survive).
check_cases() {
    local dir=$1 step=$2 n i
    n=$(jq '.cases | length' "$dir/cases.json")
    for ((i = 0; i < n; i += step)); do
        jq -j ".cases[$i].text" "$dir/cases.json" >"$WORK/text"
        local want_ids want_plain want_decoded
        want_ids=$(jq -c ".cases[$i].ids" "$dir/cases.json")
        want_plain=$(jq -c ".cases[$i].ids_plain" "$dir/cases.json")
        if expect_ok "$dir case $i" -- "$ACCINF" tokenize "$dir/tokenizer.json" --file "$WORK/text" --json; then
            local got
            got=$(jq -c .ids "$WORK/out")
            [ "$got" = "$want_ids" ] && pass || fail "$dir case $i: ids $got, want $want_ids"
        fi
        if expect_ok "$dir case $i plain" -- "$ACCINF" tokenize "$dir" --file "$WORK/text" --no-special --json; then
            local got
            got=$(jq -c .ids "$WORK/out")
            [ "$got" = "$want_plain" ] && pass || fail "$dir case $i --no-special: ids $got, want $want_plain"
        fi
        if [ "$want_plain" != "[]" ]; then
            local ids_csv
            ids_csv=$(jq -r ".cases[$i].ids_plain | map(tostring) | join(\",\")" "$dir/cases.json")
            if expect_ok "$dir case $i decode" -- "$ACCINF" tokenize "$dir" --decode "$ids_csv" --json; then
                jq -j .text "$WORK/out" >"$WORK/got_decoded"
                jq -j ".cases[$i].decoded" "$dir/cases.json" >"$WORK/want_decoded"
                cmp -s "$WORK/got_decoded" "$WORK/want_decoded" && pass ||
                    fail "$dir case $i --decode: '$(cat "$WORK/got_decoded")' != '$(cat "$WORK/want_decoded")'"
            fi
        fi
    done
}

check_cases "$FIXTURES/tokenizers/gpt2" 45
check_cases "$FIXTURES/tokenizers/metaspace-tiny" 20
check_cases "$FIXTURES/tokenizers/llama3-style" 25

# --text gives the same as --file, and the three ways to name the tokenizer agree.
MODEL="$FIXTURES/models/llama-tiny"
mkdir -p "$WORK/tokonly"
cp "$MODEL/tokenizer.json" "$WORK/tokonly/"
outputs=()
for target in "$MODEL" "$WORK/tokonly" "$MODEL/tokenizer.json"; do
    if expect_ok "tokenize $target" -- "$ACCINF" tokenize "$target" --text "Hello world" --json; then
        outputs+=("$(cat "$WORK/out")")
    fi
done
check "model dir, tokenizer dir and file agree" test "${outputs[0]:-x}" = "${outputs[1]:-y}" -a "${outputs[1]:-y}" = "${outputs[2]:-z}"
check "--json is exactly {\"ids\":[...]}" jq -e 'keys == ["ids"]' "$WORK/out"

# Human output: one line per token plus a count line.
if expect_ok "tokenize human" -- "$ACCINF" tokenize "$MODEL" --text "Hello world"; then
    n=$(jq '.ids | length' <<<"${outputs[0]:-{\"ids\":[]\}}")
    lines=$(wc -l <"$WORK/out")
    check "human output has one line per token and a count" test "$lines" -eq $((n + 1))
    check "human output ends with the count" grep -q "^$n tokens$" "$WORK/out"
fi

finish
