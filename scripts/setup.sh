#!/usr/bin/env bash
# From a fresh clone to a working `emo`: Debian packages, npm dependencies, the
# native addon and the TypeScript build, then the main job on the bundled sample.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: cmake, g++, pkg-config, kissfft, oneDNN (training kernels). Corpus and fixtures: sox, espeak-ng.
# Other audio formats for emo classify: ffmpeg. The scale-out tests: redis-server.
SYSTEM_PACKAGES=(cmake g++ make pkg-config libkissfft-dev libdnnl-dev sox espeak-ng ffmpeg redis-server)
missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm run build

if [ "${EMO_SETUP_SKIP_DEMO:-0}" != "1" ]; then
  node dist/cli/main.js features samples/03-01-05-02-01-01-01.wav --png features.png
fi
