#!/usr/bin/env bash
# Trains the bundled model, models/emo-synth.onnx, from the synthetic corpus, and the two
# cross-engine runs its model card reports. Reproducible: the corpus, every command line and
# every seed are here. About 70 minutes on 2 cores; each step resumes or skips when run again.
#
#   bash scripts/train-bundled-model.sh [work dir, default data/bundled]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-data/bundled}"
corpus="$work/corpus"
emo() { node dist/cli/main.js "$@"; }

# 24 actors: pairs alternate between the engines, 1-2 espeak-ng, 3-4 festival, ...
espeak="1-2,5-6,9-10,13-14,17-18,21-22"
festival="3-4,7-8,11-12,15-16,19-20,23-24"

# 1. The corpus: both engines, every recording-chain effect (the defaults), seed 1.
emo synth "$corpus" --actors 24 --seed 1

# 2. The bundled model: the default speaker-independent split (training 1-18, validation 19-20,
#    test 21-24: two espeak-ng and two festival actors), the default augmentation, seed 1.
emo train "$corpus" --out "$work/runs/bundled" --epochs 10 --patience 3 --seed 1 --cache "$work/features.bin"
emo export "$work/runs/bundled" --out models/emo-synth.onnx
emo evaluate models/emo-synth.onnx "$corpus" --split test

# 3. Cross-engine: train on one engine's actors, test on every actor of the other engine.
emo train "$corpus" --out "$work/runs/espeak-to-festival" --epochs 6 --patience 3 --seed 1 \
  --split "actors:$festival/21-22/1-2,5-6,9-10,13-14,17-18" --cache "$work/features.bin"
emo evaluate "$work/runs/espeak-to-festival" "$corpus" --split test
emo train "$corpus" --out "$work/runs/festival-to-espeak" --epochs 6 --patience 3 --seed 1 \
  --split "actors:$espeak/23-24/3-4,7-8,11-12,15-16,19-20" --cache "$work/features.bin"
emo evaluate "$work/runs/festival-to-espeak" "$corpus" --split test
