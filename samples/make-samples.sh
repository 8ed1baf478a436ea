#!/usr/bin/env bash
# Regenerates the bundled samples: one clip per emotion from the synthetic corpus that trained
# the bundled model (emo synth, seed 1, 24 actors), taken from its held-out test actors 21-24,
# whom the model never heard (21-22 espeak-ng, 23-24 festival). Strong intensity (neutral has
# only normal), resampled to 16 kHz to keep the package small.
#
#   bash samples/make-samples.sh [corpus dir]   # default: synthesised into a temporary folder
set -euo pipefail
cd "$(dirname "$0")"
corpus="${1:-}"
if [ -z "$corpus" ]; then
  corpus=$(mktemp -d)
  trap 'rm -rf "$corpus"' EXIT
  node ../dist/cli/main.js synth "$corpus" --actors 24 --seed 1 --force
fi
rm -f ./03-01-*.wav
# emotion code, intensity, statement, actor
for pick in "01 01 01 21" "02 02 02 22" "03 02 01 23" "04 02 02 24" "05 02 01 22" "06 02 02 21" "07 02 01 24" "08 02 02 23"; do
  read -r emotion intensity statement actor <<<"$pick"
  name="03-01-$emotion-$intensity-$statement-01-$actor.wav"
  sox -R -D -G "$corpus/Actor_$actor/$name" -r 16000 -b 16 "$name"
done
ls -l ./03-01-*.wav
