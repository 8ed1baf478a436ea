"""A probe outside the product (docs/ravdess-experiments.md, section 2b): logistic regression on the
mel-band functionals that mel-functionals.js writes, scored on each cross-validation fold's
*validation* actors (trained on that fold's 18 training actors; the test actors are not read).

    python3 experiments/probes/mel-functionals.py <out dir of mel-functionals.js>

Prints the table of section 2b, then which statistics carry the per-actor result (subsets).

Needs numpy and scikit-learn (Debian: python3-sklearn). Three ways to normalise the functionals:
  global          standardised with the training actors' mean and sd (one set for everybody)
  speaker         every functional standardised per actor over that actor's own clips (no labels),
                  as the classical reference's per-speaker normalisation does
  speaker-bands   the mel bands normalised per actor (the mean and sd of each band over the actor's
                  speech frames, as the package's adapter does) before the functionals, then global
Folds as emo crossval's: fold i tests actors 4i-3..4i and validates on the last two actors of the
fold before it.
"""
import json
import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score

out = sys.argv[1]
clips = json.load(open(os.path.join(out, 'clips.json')))
X = np.fromfile(os.path.join(out, 'functionals.f32'), dtype=np.float32).reshape(len(clips), 128, 6).astype(np.float64)
emotion = np.array([c['emotion'] for c in clips])
actor = np.array([c['actor'] for c in clips])
frames = np.array([c['speechFrames'] for c in clips], dtype=np.float64)
MEAN, SD, P10, P90, CHANGE, MEDIAN = range(6)


def folds():
    for i in range(6):
        test = range(4 * i + 1, 4 * i + 5)
        before = 4 * ((i - 1) % 6)
        val = [before + 3, before + 4]
        yield i + 1, [a for a in range(1, 25) if a not in test and a not in val], val


def standardise(F, rows):
    return (F - F[rows].mean(0)) / (F[rows].std(0) + 1e-6)


def per_actor(F, actors):
    """F with the rows of each of these actors standardised by that actor's own rows."""
    F = F.copy()
    for a in actors:
        F[actor == a] = standardise(F[actor == a], slice(None))
    return F


def speaker_bands(X):
    """Functionals of per-actor band-normalised mel, from each clip's band mean and sd (pooled exactly)."""
    Z = X.copy()
    for a in np.unique(actor):
        rows = actor == a
        w = frames[rows][:, None]
        mu = (w * X[rows, :, MEAN]).sum(0) / w.sum()
        sd = np.sqrt((w * (X[rows, :, SD] ** 2 + (X[rows, :, MEAN] - mu) ** 2)).sum(0) / w.sum()) + 1e-6
        for k in (MEAN, P10, P90, MEDIAN):
            Z[rows, :, k] = (X[rows, :, k] - mu) / sd
        for k in (SD, CHANGE):
            Z[rows, :, k] = X[rows, :, k] / sd
    return Z


for stats_name, stats in (('mean, sd', [MEAN, SD]), ('all six', list(range(6)))):
    for norm in ('global', 'speaker', 'speaker-bands'):
        base = (speaker_bands(X) if norm == 'speaker-bands' else X)[:, :, stats].reshape(len(clips), -1)
        if norm == 'speaker':
            base = per_actor(base, np.unique(actor))
        for C in (0.01, 0.1, 1.0):
            uar = []
            for fold, train, val in folds():
                tr, va = np.isin(actor, train), np.isin(actor, val)
                F = standardise(base, tr)
                model = LogisticRegression(C=C, max_iter=3000).fit(F[tr], emotion[tr])
                uar.append(recall_score(emotion[va], model.predict(F[va]), average='macro'))
            print(f'{stats_name:8s}  {norm:13s}  C={C:<5}  validation UAR by fold ' + ' '.join(f'{100 * u:5.1f}' for u in uar) + f'   mean {100 * np.mean(uar):.1f}', flush=True)

# Which statistics carry it: subsets, each statistic standardised per actor, C = 0.01.
NAMES = ('mean', 'sd', 'p10', 'p90', 'change', 'median')
for subset in ([MEAN, SD, CHANGE], [MEAN, SD, P10, P90], [MEAN, SD, P10, P90, CHANGE], [SD, P10, P90, CHANGE, MEDIAN]):
    base = per_actor(X[:, :, subset].reshape(len(clips), -1), np.unique(actor))
    uar = []
    for fold, train, val in folds():
        tr, va = np.isin(actor, train), np.isin(actor, val)
        model = LogisticRegression(C=0.01, max_iter=3000).fit(base[tr], emotion[tr])
        uar.append(recall_score(emotion[va], model.predict(base[va]), average='macro'))
    print(f'{"+".join(NAMES[k] for k in subset):28s}  speaker  C=0.01  validation UAR by fold ' + ' '.join(f'{100 * u:5.1f}' for u in uar) + f'   mean {100 * np.mean(uar):.1f}', flush=True)

# How much of a speaker it needs: all six statistics, the model trained on per-actor standardised
# statistics, each validation actor's clips cut into groups of N (in a seeded random order) that are
# standardised by themselves; "none" standardises with the training actors' pooled statistics.
rng = np.random.default_rng(1)
flat = X.reshape(len(clips), -1)
curve = {n: [] for n in (2, 4, 8, 16, 60)}
curve['none'] = []
for fold, train, val in folds():
    tr, va = np.isin(actor, train), np.isin(actor, val)
    model = LogisticRegression(C=0.01, max_iter=3000).fit(per_actor(flat, train)[tr], emotion[tr])
    for n in (2, 4, 8, 16, 60):
        predicted, rows_scored = {}, []
        for a in val:
            rows = rng.permutation(np.where(actor == a)[0])
            for g in range(0, len(rows), n):
                group = rows[g:g + n]
                for r, p in zip(group, model.predict(standardise(flat[group], slice(None)))):
                    predicted[r] = p
            rows_scored += list(rows)
        curve[n].append(recall_score(emotion[rows_scored], [predicted[r] for r in rows_scored], average='macro'))
    pooled = (flat - flat[tr].mean(0)) / (flat[tr].std(0) + 1e-6)
    curve['none'].append(recall_score(emotion[va], model.predict(pooled[va]), average='macro'))
for n, uar in curve.items():
    print(f'clips per group {str(n):4s}  validation UAR by fold ' + ' '.join(f'{100 * u:5.1f}' for u in uar) + f'   mean {100 * np.mean(uar):.1f}', flush=True)
