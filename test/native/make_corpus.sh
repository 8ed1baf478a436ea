#!/usr/bin/env bash
# Regenerates the libFuzzer seed corpus in test/native/corpus/ (every file < 4 KB).
#
#   bash test/native/make_corpus.sh [BUILD_DIR]
#
# sox writes a few real-world layouts (sox -R: fixed seed, -D: no dither, so the
# output is reproducible). When BUILD_DIR holds a built wav_mutation_test, its
# in-memory WAV builder adds the unusual layouts sox does not write (odd LIST
# and JUNK chunks with pad bytes, data before fmt, short data chunks, 5-6
# channels, extensible with fewer valid bits).
set -euo pipefail
export LC_ALL=C
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/corpus"
BUILD="${1:-$HERE/../../build-native}"
mkdir -p "$OUT"

if command -v sox >/dev/null 2>&1; then
  s() { local name="$1"; shift; sox -R -D -n "$@" "$OUT/$name" synth "${SYNTH[@]}"; }
  SYNTH=(0.02 sine 1000);          s sox_s16_mono_48k.wav -r 48000 -c 1 -b 16 -e signed -t wavpcm
  SYNTH=(0.1 sine 440);            s sox_u8_mono_8k.wav -r 8000 -c 1 -b 8 -e unsigned -t wavpcm
  SYNTH=(0.01 sine 440 sine 880);  s sox_s24_stereo_44k1_ext.wav -r 44100 -c 2 -b 24 -e signed -t wav
  SYNTH=(0.02 sine 300);           s sox_s32_mono_16k.wav -r 16000 -c 1 -b 32 -e signed -t wavpcm
  SYNTH=(0.02 sine 300);           s sox_f32_mono_22k05.wav -r 22050 -c 1 -b 32 -e floating-point -t wav
  SYNTH=(0.01 sine 500 sine 700);  s sox_f64_stereo_11k025.wav -r 11025 -c 2 -b 64 -e floating-point -t wav
  SYNTH=(0.005 sine 100 sine 200 sine 300 sine 400 sine 500 sine 600); s sox_s16_6ch_48k_ext.wav -r 48000 -c 6 -b 16 -e signed -t wav
  SYNTH=(0.01 sine 1000);          s sox_s16_mono_48k_comment.wav -r 48000 -c 1 -b 16 -e signed -t wav --comment "emo-native seed"
else
  echo "sox not found: skipping the sox-written seeds" >&2
fi

if [ -x "$BUILD/test/native/wav_mutation_test" ]; then
  "$BUILD/test/native/wav_mutation_test" --write-corpus "$OUT"
else
  echo "no wav_mutation_test in $BUILD: skipping the generated seeds (build the native tests first)" >&2
fi

for f in "$OUT"/*.wav; do
  size=$(wc -c <"$f")
  if [ "$size" -ge 4096 ]; then echo "error: $f is $size bytes (keep seeds under 4 KB)" >&2; exit 1; fi
done
ls -l "$OUT"
