# common.bash — helpers sourced by the CLI integration tests (tests/integration/*.sh).
# Each test is run as: bash SCRIPT ACCINF_BINARY FIXTURES_DIR EXAMPLES_DIR
# and exits non-zero when any check failed.  Needs bash, coreutils, grep, jq.
set -u

ACCINF=${1:?usage: SCRIPT ACCINF_BINARY FIXTURES_DIR EXAMPLES_DIR}
FIXTURES=${2:?missing FIXTURES_DIR}
EXAMPLES=${3:?missing EXAMPLES_DIR}
FAILURES=0
CHECKS=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/accinf-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

command -v jq >/dev/null || { echo "jq is required (scripts/install-deps.sh installs it)" >&2; exit 1; }

fail() {
    echo "FAIL: $*" >&2
    FAILURES=$((FAILURES + 1))
}

pass() {
    CHECKS=$((CHECKS + 1))
}

# check DESCRIPTION CONDITION...: runs the condition, counts a failure if false.
check() {
    local what=$1
    shift
    if "$@" >/dev/null; then pass; else fail "$what"; fi
}

# expect_ok DESCRIPTION -- CMD...: must exit 0; stdout in $WORK/out, stderr in $WORK/err.
expect_ok() {
    local what=$1
    shift 2
    "$@" >"$WORK/out" 2>"$WORK/err"
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "$what: exit $rc, stderr: $(head -c 400 "$WORK/err")"
        return 1
    fi
    pass
    return 0
}

# expect_error CODE PATTERN DESCRIPTION -- CMD...: must exit CODE and print
# exactly one stderr line "accinf: error: ..." containing PATTERN (fixed string).
expect_error() {
    local code=$1 pattern=$2 what=$3
    shift 4
    "$@" >"$WORK/out" 2>"$WORK/err"
    local rc=$?
    local lines
    lines=$(wc -l <"$WORK/err")
    if [ "$rc" -ne "$code" ]; then
        fail "$what: exit $rc (want $code), stderr: $(head -c 400 "$WORK/err")"
    elif [ "$lines" -ne 1 ]; then
        fail "$what: $lines stderr lines (want 1): $(head -c 400 "$WORK/err")"
    elif ! grep -q '^accinf: error: ' "$WORK/err"; then
        fail "$what: no 'accinf: error: ' prefix: $(cat "$WORK/err")"
    elif ! grep -qF -- "$pattern" "$WORK/err"; then
        fail "$what: message lacks '$pattern': $(cat "$WORK/err")"
    else
        pass
    fi
}

finish() {
    echo "$(basename "$0"): $CHECKS checks passed, $FAILURES failed" >&2
    [ "$FAILURES" -eq 0 ]
    exit $?
}
