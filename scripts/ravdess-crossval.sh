#!/usr/bin/env bash
# Cross-validates training recipes on RAVDESS speech: 6 speaker-independent folds of 4 actors each
# (emo crossval; the folds, and the validation actors inside each fold's training side, are fixed and
# documented in docs/training.md), under one epoch budget. Every command line, recipe and seed is here.
# Each step resumes (per fold, per epoch) when run again, so it can be spread over several sessions.
#
#   bash scripts/ravdess-crossval.sh <RAVDESS dir> [work dir, default runs/ravdess] [step ...]
#
# The RAVDESS dir holds Actor_01 ... Actor_24 (Audio_Speech_Actors_01-24); it is checked against
# manifests/ravdess-speech.tsv first. Steps (default: reference defaults):
#   reference   the reference lineage's recipe: the four augmentation variants (original, AWGN at
#               15-30 dB SNR, tempo 0.9-1.1, preemphasis) and nothing else, SGD at 0.01 with
#               momentum 0.8 and weight decay 1e-3 at a constant rate
#   defaults    emo train's defaults: the same variants, plus VTLP 0.85-1.15, SpecAugment-style
#               masks and mixup (alpha 0.4), Adam at 0.001 halved after 2 epochs without a better
#               validation macro-F1
#   centre, centre-chain, centre-chain-balance
#               the defaults plus one recipe lever after another: --centre utterance, then
#               --recording-chain, then --balance-classes
#   centre-chain-noreg
#               centre-chain without the training-batch regularisers (no VTLP, no masks, no mixup):
#               the models underfit their own training actors, so this asks what the regularisers cost
#   centre-chain-noreg-cosine20
#               centre-chain-noreg for 20 epochs with --lr-schedule cosine: the rate decays batch by
#               batch to 1/64 over the 20 epochs, whatever the 120 validation clips say (the longer
#               run's first 20 epochs are the same recipe at a constant rate)
#   centre-chain-noreg-nopre
#               centre-chain-noreg without the preemphasis variant (--variants original,noise,tempo,chain),
#               which the centring makes nearly a copy of the original: a fifth of each epoch saved
#   centre-chain-noreg-30, centre-chain-noreg-30-nopre
#               centre-chain-noreg for 30 epochs at a constant rate (0.001, --lr-patience 10000): the
#               recipe the longer run measured (the plateau rule's halvings did not reach Adam then);
#               then the same without the preemphasis variant
#   adapt-chain-noreg-30-nopre
#               centre-chain-noreg-30-nopre with speaker adaptation (--adapt speaker: every clip
#               normalised with its actor's and variant's speech statistics, no labels) in place of the
#               utterance centring, which would take away what the speaker's statistics keep
#   stats-adapt, stats-global, stats-centre
#               the statistics network (--network statistics: per-band statistics of the speech frames
#               and one softmax layer) on adapt-chain-noreg-30-nopre's data, 20 epochs at a constant
#               rate: with speaker adaptation, with the training set's normalisation alone, and with
#               each clip centred per band first (--centre utterance: blind to the recording's level)
#   stats-speaker, stats-speaker-wd, stats-speaker-l2
#               the statistics network with each of its statistics standardised per speaker and
#               recording (--adapt speaker-statistics: a batch per actor and variant, 60 clips),
#               30 epochs; stats-speaker-wd the same with --weight-decay 0.1 (run while the
#               standardisation's scale and offset were trained, which the decay shrank too);
#               stats-speaker-l2 the same again since they stay 1 and 0 (2026-12-08), so that the
#               decay is an L2 penalty on the softmax layer alone, as in the probe. All three ran
#               on the network of 384 statistics (the bands' alone), before 2026-12-08
#   stats-cepstra
#               stats-speaker on the statistics network as it is since 2026-12-08: the bands' three
#               statistics, the same of 40 cepstra, and the contour's three (507 in all; before,
#               the bands' 384 alone), chosen by a probe on validation actors (experiments log §7)
#   stats-cepstra-global
#               stats-global on that network: the training set's normalisation, no adaptation (what
#               a model for single clips of unknown speakers needs)
#   centre-lr, centre-chain-lr
#               the learning-rate schedule: twice the rate (0.002), halved only after 4 epochs
#               without a better validation macro-F1 (the defaults' 2 halve it on the noise of
#               120 validation clips), on top of centre or centre-chain
#   longer:<recipe>
#               one longer run of a recipe (the chosen one) on fold 6 (training 1-18, validation
#               19-20, test 21-24 held back), 30 epochs, to show what the budget cuts off; into
#               <work dir>/longer-<recipe>/fold-6
# A recipe step runs all six folds into <work dir>/<step>. Written screen:<recipe> (screen:centre)
# it runs fold 6 alone with its test actors 21-24 held back, so the recipe is judged on validation
# actors 19-20 only; a later full run of the recipe reuses that fold and scores its test actors.
# Written fold6:<recipe>, it runs (or reuses) fold 6 and scores its test actors, keeping its feature
# cache for the export: the default model's run (scripts/train-default-model.sh).
# A whole cross-validation runs its folds one at a time, in the order EMO_FOLD_ORDER gives (default
# "1 2 3 4 5 6"; a subset leaves the rest for later), and writes its summary once all six are done.
# About 25 minutes per fold at 12 epochs (an hour at 30) on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  # The usage is this header: the comment lines after the shebang.
  sed -n '2,/^[^#]/{/^#/p}' "$0" >&2
  exit 2
fi
corpus="$1"
work="${2:-runs/ravdess}"
shift $(($# >= 2 ? 2 : 1))
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(reference defaults)
emo() { node dist/cli/main.js "$@"; }

emo check-corpus "$corpus"

# The epoch budget: 12 epochs per fold, no early stop; the best validation epoch is scored.
budget=(--epochs 12 --patience 12 --seed 1)
# Recipe parts several steps share: centre-chain without VTLP, masks or mixup; 30 epochs at a constant
# rate; the training variants without preemphasis.
noreg=(--centre utterance --recording-chain --no-warp --no-masking --mixup 0)
constant30=(--lr-patience 10000 --epochs 30 --patience 30)
nopre=(--variants original,noise,tempo,chain)
# The statistics network: adapt-chain-noreg-30-nopre's data, 20 epochs at a constant rate (its
# screen on fold 1's validation actors was flat from epoch 9 to 30).
stats=(--recording-chain --no-warp --no-masking --mixup 0 --lr-patience 10000 --epochs 20 --patience 20 --variants original,noise,tempo,chain)
# A finished fold's scores (fold.json) and training history (metrics.json) are kept in
# experiments/ravdess/<recipe>/fold-<n>/ for the repository: a later session, on this machine or a
# fresh one, reads the fold back from there instead of training it again (emo crossval --resume
# reuses a fold whose fold.json matches its actors and recipe). The corpus path is not kept.
records=experiments/ravdess
seed_record() {
  local from="$records/$1/fold-$2" to="$work/$1/fold-$2"
  if [ -f "$from/fold.json" ] && [ ! -f "$to/fold.json" ]; then
    mkdir -p "$to"
    cp "$from/fold.json" "$from/metrics.json" "$to/"
  fi
}
keep_record() {
  local from="$work/$1/fold-$2" to="$records/$1/fold-$2"
  [ -f "$from/fold.json" ] || return 0
  mkdir -p "$to"
  node -e '
    const fs = require("node:fs");
    const [from, to] = process.argv.slice(1);
    const fold = JSON.parse(fs.readFileSync(from + "/fold.json", "utf8"));
    fs.writeFileSync(to + "/fold.json", JSON.stringify({ ...fold, dir: "RAVDESS" }, null, 2) + "\n");
    fs.copyFileSync(from + "/metrics.json", to + "/metrics.json");
  ' "$from" "$to"
}
for step in "${steps[@]}"; do
  name="${step#*:}"
  case "$step" in
    screen:*) scope=(--only 6 --validation-only) ;;
    fold6:*) scope=(--only 6 --keep-caches) ;;
    *) scope=() ;;
  esac
  case "$name" in
    reference) recipe=(--optimizer sgd --lr 0.01 --momentum 0.8 --weight-decay 1e-3 --lr-patience 10000 --no-masking --no-warp --mixup 0) ;;
    defaults) recipe=() ;;
    centre) recipe=(--centre utterance) ;;
    centre-chain) recipe=(--centre utterance --recording-chain) ;;
    centre-chain-noreg) recipe=("${noreg[@]}") ;;
    # A recipe's own --epochs and --patience come after the budget's, and the last one counts.
    centre-chain-noreg-cosine20) recipe=("${noreg[@]}" --lr-schedule cosine --epochs 20 --patience 20) ;;
    centre-chain-noreg-30) recipe=("${noreg[@]}" "${constant30[@]}") ;;
    centre-chain-noreg-30-nopre) recipe=("${noreg[@]}" "${constant30[@]}" "${nopre[@]}") ;;
    centre-chain-noreg-nopre) recipe=("${noreg[@]}" "${nopre[@]}") ;;
    # Speaker adaptation in place of the utterance centring, the rest as centre-chain-noreg-30-nopre.
    adapt-chain-noreg-30-nopre) recipe=(--adapt speaker --recording-chain --no-warp --no-masking --mixup 0 "${constant30[@]}" "${nopre[@]}") ;;
    stats-adapt) recipe=(--network statistics --adapt speaker "${stats[@]}") ;;
    stats-global) recipe=(--network statistics "${stats[@]}") ;;
    stats-centre) recipe=(--network statistics --centre utterance "${stats[@]}") ;;
    # One batch per actor and variant (60 clips), so the batch normalisation standardises with the
    # group's own statistics; 30 epochs, as a batch per group makes an epoch 72 steps instead of 135.
    stats-speaker) recipe=(--network statistics --adapt speaker-statistics "${stats[@]}" --batch 60 --epochs 30 --patience 30) ;;
    # The same with L2 on every weight (about what the probe's strongest regularisation, C = 0.01 over
    # 1 080 clips, adds to a mean loss's gradient).
    stats-cepstra-global) recipe=(--network statistics "${stats[@]}") ;;
    stats-cepstra) recipe=(--network statistics --adapt speaker-statistics "${stats[@]}" --batch 60 --epochs 30 --patience 30) ;;
    stats-speaker-wd|stats-speaker-l2) recipe=(--network statistics --adapt speaker-statistics "${stats[@]}" --batch 60 --epochs 30 --patience 30 --weight-decay 0.1) ;;
    centre-chain-balance) recipe=(--centre utterance --recording-chain --balance-classes) ;;
    centre-lr) recipe=(--centre utterance --lr 0.002 --lr-patience 4) ;;
    centre-chain-lr) recipe=(--centre utterance --recording-chain --lr 0.002 --lr-patience 4) ;;
    *)
      echo "unknown step '$step' (reference, defaults, centre, centre-chain, centre-chain-noreg, centre-chain-noreg-cosine20, centre-chain-noreg-nopre, centre-chain-noreg-30, centre-chain-noreg-30-nopre, adapt-chain-noreg-30-nopre, stats-adapt, stats-global, stats-centre, stats-speaker, stats-speaker-wd, stats-speaker-l2, stats-cepstra, stats-cepstra-global, centre-chain-balance, centre-lr, centre-chain-lr; screen:<recipe>, fold6:<recipe>, longer:<recipe>)" >&2
      exit 2 ;;
  esac
  if [ "${step%%:*}" = longer ]; then
    # Fold 6 with its test actors held back, as a screen, for 30 epochs (after the recipe's own).
    emo crossval "$corpus" --folds 6 --out "$work/longer-$name" --resume ${recipe[@]+"${recipe[@]}"} \
      --epochs 30 --patience 30 --seed 1 --only 6 --validation-only
    continue
  fi
  run=(--folds 6 --out "$work/$name" --resume "${budget[@]}" ${recipe[@]+"${recipe[@]}"} ${scope[@]+"${scope[@]}"})
  # EMO_KEEP_CACHES=1 keeps each fold's feature cache, for another recipe on the same data.
  [ -z "${EMO_KEEP_CACHES:-}" ] || run+=(--keep-caches)
  if [ "${step%%:*}" = "$step" ]; then
    # A whole cross-validation: one fold at a time, each fold's record committed-ready as soon as it
    # finishes, then all six read back into the summary (crossval.json).
    for fold in ${EMO_FOLD_ORDER:-1 2 3 4 5 6}; do
      seed_record "$name" "$fold"
      emo crossval "$corpus" "${run[@]}" --only "$fold"
      keep_record "$name" "$fold"
    done
    missing=()
    for fold in 1 2 3 4 5 6; do
      seed_record "$name" "$fold"
      [ -f "$work/$name/fold-$fold/fold.json" ] || missing+=("$fold")
    done
    if ((${#missing[@]})); then
      echo "$name: folds ${missing[*]} still to run; no summary yet" >&2
      continue
    fi
  fi
  emo crossval "$corpus" "${run[@]}"
  # The default model's fold is the cross-validation's fold 6: its record serves both.
  if [ "${step%%:*}" = fold6 ]; then keep_record "$name" 6; fi
done
