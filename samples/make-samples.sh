#!/usr/bin/env bash
# Copies the bundled samples out of RAVDESS: one clip per emotion from the actors the default model
# never heard (21-24, its held-out test actors), unchanged (48 kHz, 16 bit; their SHA-256 is in
# manifests/ravdess-speech.tsv). The picks were fixed before any RAVDESS model existed (they are the
# emotion, intensity, statement and actor of the earlier synthetic samples): strong intensity
# except neutral, which has only normal; first repetition. Licence: see README.md here.
#
#   bash samples/make-samples.sh <RAVDESS dir (Audio_Speech_Actors_01-24)>
set -euo pipefail
cd "$(dirname "$0")"
if [ $# -ne 1 ]; then
  sed -n '2,8p' "$0" >&2
  exit 2
fi
corpus="$1"
node ../dist/cli/main.js check-corpus "$corpus"
rm -f ./03-01-*.wav
# emotion code, intensity, statement, actor
for pick in "01 01 01 21" "02 02 02 22" "03 02 01 23" "04 02 02 24" "05 02 01 22" "06 02 02 21" "07 02 01 24" "08 02 02 23"; do
  read -r emotion intensity statement actor <<<"$pick"
  install -m 0644 "$corpus/Actor_$actor/03-01-$emotion-$intensity-$statement-01-$actor.wav" .
done
ls -l ./03-01-*.wav
