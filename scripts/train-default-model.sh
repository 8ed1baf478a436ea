#!/usr/bin/env bash
# Trains the default model, models/emo-ravdess.onnx, on RAVDESS speech, scores it, and copies the
# bundled samples. Reproducible: every command line and seed is here or in ravdess-crossval.sh.
#
#   bash scripts/train-default-model.sh <RAVDESS dir> [work dir, default runs/ravdess]
#
# The model is fold 6 of the chosen recipe's cross-validation (scripts/ravdess-crossval.sh): trained
# on actors 1-18, its epoch chosen on actors 19-20, scored once on the held-out actors 21-24. The
# recipe was chosen on actors 19-20 alone, with 21-24 held back (docs/ravdess-experiments.md). When
# the recipe's six-fold cross-validation has run (the step of the same name), its summary goes into
# the model's metadata. About 30 minutes on 2 cores (plus the cross-validation, 2.5 hours).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
corpus="$1"
work="${2:-runs/ravdess}"
recipe=centre-chain-noreg-30-nopre
emo() { node dist/cli/main.js "$@"; }

# 1. Fold 6 of the recipe, its test actors scored (reuses the screening run when it is there).
bash scripts/ravdess-crossval.sh "$corpus" "$work" "fold6:$recipe"

# 2. The ONNX model, with the cross-validation summary when there is one.
summary=()
if [ -f "$work/$recipe/crossval.json" ]; then summary=(--crossval "$work/$recipe/crossval.json"); fi
emo export "$work/$recipe/fold-6" --out models/emo-ravdess.onnx ${summary[@]+"${summary[@]}"}

# 3. The held-out actors, clean and through every recording condition (the model card's tables),
#    and the other protocol on the validation actors.
emo evaluate models/emo-ravdess.onnx "$corpus" --split test --condition all --out "$work/$recipe/evaluation"
emo evaluate models/emo-ravdess.onnx "$corpus" --split val --protocol windows --out "$work/$recipe/evaluation-windows"

# 4. The bundled samples: one clip per emotion of the held-out actors.
bash samples/make-samples.sh "$corpus"
node dist/cli/main.js classify samples/ --format table
