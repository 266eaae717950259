#!/usr/bin/env bash
# Writes GGUF files of the fixture models with llama.cpp's own Python
# converter (convert_hf_to_gguf.py + gguf-py), for tests/fixtures/llamacpp-gguf.
# It runs the converter of an existing llama.cpp checkout; it never builds
# llama.cpp.  Needs python3 with numpy, torch, transformers, sentencepiece,
# pyyaml (the converter's own requirements).
#
#   tools/gen_llamacpp_gguf.sh LLAMA_CPP_SRC FIXTURE_MODELS_DIR OUT_DIR [TYPES...]
#
# TYPES default to "f32 f16".  Output: OUT_DIR/<fixture>.<type>.gguf.
#
# The fixtures' tokenizers are small trained BPEs, so the converter's
# pre-tokenizer check (a hash of the token ids of a test string, compared with
# known upstream models) does not recognise them and stops.  For byte-level
# BPE fixtures the pre-tokenizer type is therefore given explicitly (what the
# fixture's split regex is): the converter's get_vocab_base_pre is replaced
# by a function returning that name; everything else is the converter as is.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 LLAMA_CPP_SRC FIXTURE_MODELS_DIR OUT_DIR [TYPES...]" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
fixtures=$(cd "$2" && pwd)
out=$3
shift 3
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(f32 f16)
mkdir -p "$out"
out=$(cd "$out" && pwd)

[ -f "$src/convert_hf_to_gguf.py" ] || { echo "$src: no convert_hf_to_gguf.py" >&2; exit 2; }

# Pre-tokenizer type of each byte-level BPE fixture (the others use the
# SentencePiece-style LlamaHfVocab path, which has no pre-tokenizer check).
pre_of() {
    case "$1" in
        gpt2-tiny|granite-tiny) echo gpt-2 ;;
        llama3-tiny) echo llama-bpe ;;
        qwen2-tiny) echo qwen2 ;;
        *) echo "" ;;
    esac
}

# Two config.json fields the converter reads where newer files do not keep
# them; such a fixture is converted from a copy with the field added:
# - GPT2Model reads "n_ctx", which newer transformers no longer write (they
#   keep "n_positions", the same number);
# - LlamaModel computes the Llama-3 rope_freqs factors from a top-level
#   "original_max_position_embeddings" (default 8192) instead of the one
#   inside "rope_scaling", where transformers reads it; Llama-3.1's 8192
#   hides this, our llama3-tiny (64) does not.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fix_config='
import json, sys
path = sys.argv[1]
c = json.load(open(path))
changed = False
if "n_positions" in c and "n_ctx" not in c:
    c["n_ctx"] = c["n_positions"]; changed = True
rs = c.get("rope_scaling") or {}
if "original_max_position_embeddings" in rs and "original_max_position_embeddings" not in c:
    c["original_max_position_embeddings"] = rs["original_max_position_embeddings"]; changed = True
if changed:
    json.dump(c, open(path, "w"), indent=2)
print("patched" if changed else "as is")
'

status=0
for dir in "$fixtures"/*-tiny; do
    name=$(basename "$dir")
    cp -r "$dir" "$tmp/$name"
    echo "== $name config.json: $(python3 -c "$fix_config" "$tmp/$name/config.json")"
    dir=$tmp/$name
    for t in "${types[@]}"; do
        echo "== $name $t"
        if ! PRE=$(pre_of "$name") PYTHONPATH="$src/gguf-py:$src" python3 - \
                "$dir" --outtype "$t" --outfile "$out/$name.$t.gguf" <<'EOF'
import os, sys
import convert_hf_to_gguf as conv
pre = os.environ.get("PRE", "")
if pre:
    conv.Model.get_vocab_base_pre = lambda self, tokenizer: pre
sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[1:]
conv.main()
EOF
        then
            echo "FAILED: $name $t" >&2
            status=1
        fi
    done
done
exit $status
