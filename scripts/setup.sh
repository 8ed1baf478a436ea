#!/usr/bin/env bash
# From a fresh clone to a working `emo`: Debian packages, npm dependencies, the
# native addon and the TypeScript build, then the main job: the bundled model
# classifies the bundled samples.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: cmake, g++, pkg-config, kissfft, oneDNN (training kernels). The synthetic corpus and
# fixtures: sox, espeak-ng, festival and its English voices. Other audio formats for emo classify:
# ffmpeg. Scale-out (emo worker, emo classify --redis) and its tests: redis-server. The charts' text:
# fonts-dejavu-core.
SYSTEM_PACKAGES=(cmake g++ make pkg-config libkissfft-dev libdnnl-dev sox espeak-ng festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts ffmpeg redis-server fonts-dejavu-core)
# Extra packages the caller asks for (CI adds what only the tests need: chromium).
read -r -a extra <<<"${EMO_SETUP_EXTRA_PACKAGES:-}"
SYSTEM_PACKAGES+=("${extra[@]}")
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
  # The main job on the bundled defaults: the default model (models/emo-ravdess.onnx) labels one
  # RAVDESS clip per emotion of the actors it never heard.
  node dist/cli/main.js classify samples/ --format table
fi
