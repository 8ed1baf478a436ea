"""A probe outside the product (docs/ravdess-experiments.md, section 7): which per-clip statistics of
the statistics network's input a linear model reads emotion from best, scored on each cross-validation
fold's *validation* actors (trained on that fold's 18 training actors; the test actors are not read).

    node experiments/probes/statistics-sets.js <RAVDESS dir> <dir>
    python3 experiments/probes/statistics-sets.py <dir> [speaker|global] [set ...]

A set is statistics joined with '+', e.g. bands+cepstra40+contour (the default list below). Each
statistic is taken over a clip's speech frames (mean over the bands within 30 dB of the loudest frame):
  bands        each band's mean, sd and mean absolute change between consecutive speech frames
  percentiles  each band's 10th, 50th and 90th percentile
  cepstraN     the same three of the first N coefficients of each frame's orthonormal DCT-II over
               the bands (on dB), N = 13, 24 or 40
  cepstra40n   the same on bands standardised with the corpus' per-band mean and sd (what the network
               sees: its input is normalised)
  contour      the share of speech frames, the loudest frame's level, the number of speech onsets
  moments      each band's sd of the change, skewness and kurtosis
  shape        mean, sd and change of five spectral-shape tracks (centroid, spread, flatness, and two
               band-level differences)
Normalisation: 'speaker' (default) standardises every statistic per actor over that actor's clips (no
labels), 'global' with the training actors' mean and sd. Logistic regression (scikit-learn) at C =
0.003, 0.01 and 0.03. Needs numpy, scipy and scikit-learn (Debian: python3-sklearn).
"""
import json
import os
import sys

import numpy as np
from scipy.fft import dct
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score

out = sys.argv[1]
norm = sys.argv[2] if len(sys.argv) > 2 else 'speaker'
sets = [s.split('+') for s in sys.argv[3:]] or [['bands'], ['bands', 'percentiles'], ['bands', 'moments'], ['bands', 'cepstra13'], ['bands', 'cepstra24'], ['bands', 'cepstra40'], ['bands', 'cepstra40n', 'contour'], ['bands', 'cepstra40', 'contour'], ['bands', 'cepstra24', 'shape', 'contour']]
clips = json.load(open(os.path.join(out, 'clips.json')))
N = len(clips)
X = np.memmap(os.path.join(out, 'frames.f32'), dtype=np.float32, mode='r', shape=(N, 128, 512))
emotion = np.array([c['emotion'] for c in clips])
actor = np.array([c['actor'] for c in clips])
sample = np.asarray(X[::7], dtype=np.float64)
band_mean, band_sd = sample.mean((0, 2)), np.maximum(sample.std((0, 2)), 1.0)


def three(rows, pair):
    """mean, sd and mean absolute change between consecutive speech frames of each row (rows × speech frames)."""
    step = np.abs(np.diff(rows, axis=1))[:, pair[:rows.shape[1] - 1]] if rows.shape[1] > 1 else np.zeros((rows.shape[0], 1))
    return np.concatenate([rows.mean(1), rows.std(1), step.mean(1) if step.shape[1] else np.zeros(rows.shape[0])])


def statistics(x):
    level = x.mean(0)
    speech = level > level.max() - 30
    s = x[:, speech]
    # Pairs of speech frames that are consecutive in time, indexed by the first's place among the speech frames.
    where = np.flatnonzero(speech)
    pair = np.diff(where) == 1
    out = {'bands': three(s, pair)}
    out['percentiles'] = np.percentile(s, [10, 50, 90], axis=1).ravel()
    d = np.diff(s, axis=1)[:, pair]
    z = (s - s.mean(1, keepdims=True)) / (s.std(1, keepdims=True) + 1e-6)
    out['moments'] = np.concatenate([d.std(1) if d.shape[1] > 1 else np.zeros(128), (z ** 3).mean(1), (z ** 4).mean(1)])
    c = dct(s, type=2, norm='ortho', axis=0)
    for n in (13, 24, 40):
        out[f'cepstra{n}'] = three(c[:n], pair)
    out['cepstra40n'] = three(dct((s - band_mean[:, None]) / band_sd[:, None], type=2, norm='ortho', axis=0)[:40], pair)
    out['contour'] = np.array([speech.mean(), level.max(), (np.diff(speech.astype(int)) == 1).sum()])
    p = 10 ** (s / 10)
    w = p / p.sum(0, keepdims=True)
    bands = np.arange(128)[:, None]
    centroid = (w * bands).sum(0)
    spread = np.sqrt((w * (bands - centroid) ** 2).sum(0))
    flatness = np.exp(np.log(p + 1e-12).mean(0)) / p.mean(0)
    low, mid, high = s[:32].mean(0), s[32:80].mean(0), s[80:].mean(0)
    out['shape'] = three(np.stack([centroid, spread, flatness, low - mid, mid - high]), pair)
    return out


cache = os.path.join(out, 'statistics.npz')
if os.path.exists(cache):
    F = dict(np.load(cache))
else:
    rows = [statistics(np.asarray(X[i], dtype=np.float64)) for i in range(N)]
    F = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    np.savez(cache, **F)


def folds():
    """As emo crossval's: fold i tests actors 4i-3..4i and validates on the last two actors of the fold before it."""
    for i in range(6):
        test = range(4 * i + 1, 4 * i + 5)
        before = 4 * ((i - 1) % 6)
        val = [before + 3, before + 4]
        yield [a for a in range(1, 25) if a not in test and a not in val], val


def score(keys, C):
    Z = np.concatenate([F[k].reshape(N, -1) for k in keys], 1)
    if norm == 'speaker':
        Z = Z.copy()
        for a in np.unique(actor):
            m = actor == a
            Z[m] = (Z[m] - Z[m].mean(0)) / np.maximum(Z[m].std(0), 1e-3)
    uar = []
    for train, val in folds():
        t, v = np.isin(actor, train), np.isin(actor, val)
        Zt, Zv = Z[t], Z[v]
        if norm == 'global':
            mu, sd = Zt.mean(0), np.maximum(Zt.std(0), 1e-3)
            Zt, Zv = (Zt - mu) / sd, (Zv - mu) / sd
        model = LogisticRegression(C=C, max_iter=3000).fit(Zt, emotion[t])
        uar.append(100 * recall_score(emotion[v], model.predict(Zv), average='macro'))
    return np.array(uar)


print(f'| statistics ({norm}) | count | C | validation UAR, folds 1-6 | mean |')
print('|---|---|---|---|---|')
for keys in sets:
    width = sum(F[k].reshape(N, -1).shape[1] for k in keys)
    for C in (0.003, 0.01, 0.03):
        r = score(keys, C)
        print(f"| {' + '.join(keys)} | {width} | {C} | {' '.join(f'{v:.1f}' for v in r)} | {r.mean():.1f} |", flush=True)
