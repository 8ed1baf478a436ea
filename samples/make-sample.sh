#!/usr/bin/env bash
# Regenerates the bundled sample clip: a synthetic stand-in for a RAVDESS
# recording (espeak-ng + sox, Debian packages), named like RAVDESS file
# 03-01-05-02-01-01-01.wav (speech, angry, strong, statement 1, repetition 1, actor 1).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us+m3 -s 190 -p 65 -a 180 -w "$tmp/speech.wav" "Kids are talking by the door!"
# 0.5 s of room noise before the speech like the real recordings, 48 kHz mono 16-bit, ~3.8 s.
sox -R "$tmp/speech.wav" -r 48000 -c 1 "$tmp/speech48.wav" gain -n -3 overdrive 8 pad 0.6 1.2
sox -R -n -r 48000 -c 1 "$tmp/noise.wav" synth "$(soxi -D "$tmp/speech48.wav")" pinknoise vol 0.004
sox -R -m "$tmp/speech48.wav" "$tmp/noise.wav" -b 16 03-01-05-02-01-01-01.wav
soxi 03-01-05-02-01-01-01.wav
