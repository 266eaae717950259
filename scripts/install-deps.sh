#!/usr/bin/env bash
# Installs the Debian packages accinf needs to build and test.  Idempotent:
# it calls apt-get only when a package is missing.  Works as root or via sudo.
set -euo pipefail
packages=(build-essential cmake pkg-config clang libclang-rt-dev
          libjansson-dev libpcre2-dev libutf8proc-dev libyaml-dev libcmocka-dev libssl-dev
          jq)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
