#!/usr/bin/env bash
# Measures speaker adaptation on RAVDESS, fold by fold, from the cross-validation of a recipe trained
# with it (scripts/ravdess-crossval.sh adapt-chain-noreg-30-nopre): each fold's model exported, then
# its test actors scored (no test actor's labels are used for anything but the score):
#   - with an adapter per actor from that actor's clips (folder), and without (none: the training
#     speakers' average);
#   - against the amount of speech: groups of 1, 2, 4, 8 and 16 of an actor's clips, each adapting
#     to itself (no minimum);
#   - with two actors' clips mixed in one group (a folder of mixed speakers);
#   - through every recording condition, with and without adaptation (the robustness table);
#   - on the fold's validation actors: with and without adaptation, and against the amount of speech,
#     which is what chooses the adapter's minimum of speech and the folder default (nested).
# Every command line is here; the tables go into docs/ravdess-experiments.md by hand. Each fold's
# score lines (the .txt files) are also kept in experiments/ravdess/<recipe>/fold-<n>/adaptation/ for
# the repository, beside the fold's record (see ravdess-crossval.sh): the models are not kept.
#
#   bash scripts/ravdess-adaptation.sh <RAVDESS dir> [work dir, default runs/ravdess] [recipe] [folds, default "1 2 3 4 5 6"]
#
# EMO_ADAPTATION_BASIC=1 measures with and without adaptation only (test and validation actors), a
# few minutes a fold: what comparing two recipes' adaptation needs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  sed -n '2,/^[^#]/{/^#/p}' "$0" >&2
  exit 2
fi
corpus="$1"
work="${2:-runs/ravdess}"
recipe="${3:-adapt-chain-noreg-30-nopre}"
folds="${4:-1 2 3 4 5 6}"
emo() { node dist/cli/main.js "$@"; }

for fold in $folds; do
  run="$work/$recipe/fold-$fold"
  out="$work/$recipe/adaptation/fold-$fold"
  [ -f "$run/fold.json" ] || { echo "fold $fold has not finished: run scripts/ravdess-crossval.sh $corpus $work $recipe first" >&2; exit 1; }
  [ -d "$run/best" ] || [ -f "$work/$recipe/adaptation/fold-$fold/model.onnx" ] || { echo "fold $fold's model is not in $run (only its record is): train the fold again to measure it" >&2; exit 1; }
  mkdir -p "$out"
  [ -f "$out/model.onnx" ] || emo export "$run" --out "$out/model.onnx"
  # The test actors (scored) and the validation actors (which choose the adapter's minimum of speech
  # and classify's default): with and without adaptation, and against the number of clips adapted to.
  for split in test val; do
    prefix=$([ "$split" = test ] || echo "$split-")
    emo evaluate "$out/model.onnx" "$corpus" --split "$split" --adapt folder --out "$out/${prefix}folder" > "$out/${prefix}folder.txt"
    emo evaluate "$out/model.onnx" "$corpus" --split "$split" --adapt none --out "$out/${prefix}none" > "$out/${prefix}none.txt"
    [ "${EMO_ADAPTATION_BASIC:-0}" = 1 ] && continue
    for n in 1 2 4 8 16; do
      emo evaluate "$out/model.onnx" "$corpus" --split "$split" --adapt-group "$n" --min-speech 0 --out "$out/${prefix}group-$n" > "$out/${prefix}group-$n.txt"
    done
  done
  # The test actors only: two actors mixed in each group, and every recording condition.
  [ "${EMO_ADAPTATION_BASIC:-0}" = 1 ] || {
  emo evaluate "$out/model.onnx" "$corpus" --split test --adapt-mix 2 --out "$out/mix-2" > "$out/mix-2.txt"
  emo evaluate "$out/model.onnx" "$corpus" --split test --condition all --adapt folder --out "$out/conditions-folder" > "$out/conditions-folder.txt"
  emo evaluate "$out/model.onnx" "$corpus" --split test --condition all --adapt none --out "$out/conditions-none" > "$out/conditions-none.txt"
  }
  mkdir -p "experiments/ravdess/$recipe/fold-$fold/adaptation"
  for f in "$out"/*.txt; do
    # The machine's paths stay on the machine.
    sed -e "s#$work#<work>#g" -e "s#$corpus#<RAVDESS>#g" "$f" > "experiments/ravdess/$recipe/fold-$fold/adaptation/$(basename "$f")"
  done
done
# One line per fold and measurement: UAR of the test actors (and of the validation actors, val-*).
grep -H -E "^(test|val): " "$work/$recipe"/adaptation/fold-*/*.txt | sed -E 's#.*/(fold-[0-9])/([a-z0-9-]+)\.txt:(test|val): ([0-9]+) clips +accuracy +([0-9.]+)% +UAR +([0-9.]+)%.*#\1 \2 accuracy \5 UAR \6#'
