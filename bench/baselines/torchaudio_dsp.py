"""torchaudio baseline for the dsp benchmark suite (bench/suites/dsp.js).

Times the reference feature pipeline that emo-native's melChunks reproduces:

  torchaudio.load(path)                         # float32 in [-1, 1)
  resample to 48 kHz                            # only when the file's rate differs
  mean over channels                            # mono
  skip 24000 samples, trim / zero-pad to 144000
  MelSpectrogram(48000, n_fft=1024, win_length=512, hop_length=256, f_min=0,
                 f_max=24000, n_mels=128, window_fn=hamming_window, power=2.0)
  AmplitudeToDB(stype='power', top_db=None)
  7 chunks of 128 frames, stride 64, stacked into (7, 128, 128)

on one thread (torch.set_num_threads(1)), so it compares like for like with
one native melChunks call.

Usage (the suite runs it; by hand from the repository root):

  /usr/bin/python3 bench/baselines/torchaudio_dsp.py \
      --clip 48k=clip48.wav --clip 44k=clip44.wav [--check 48k=ours48.f32] \
      [--warmup 10] [--iterations 100] [--min-time-ms 1000]

Output: one JSON object per stdout line (nothing else is printed to stdout):

  {"type": "info", "torch": "...", "torchaudio": "...", "threads": 1}
  {"type": "timing", "clip": "48k", "name": "features", "median": ms, "min": ms,
   "p90": ms, "mean": ms, "iterations": n}
      name "features":      mel + dB + chunks (plus resample/mix/trim) from a
                            waveform already loaded with torchaudio.load
      name "load+features": the same including torchaudio.load from the file
  {"type": "check", "clip": "48k", "max_abs_diff_db": x, "shape": [7, 128, 128]}
      max |difference| between our (7, 128, 128) output and the raw float32
      file given with --check for that clip (emo-native's output), in dB
"""

import argparse
import json
import math
import os
import sys
import time
import warnings

import torch

# Before anything runs: one intra-op and one inter-op thread. The suite also
# sets OMP_NUM_THREADS=1 etc. so no BLAS/OpenMP pool starts behind torch's back.
torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass  # only allowed before the first parallel work; harmless if too late

import torchaudio  # noqa: E402  (after the thread settings on purpose)

# The reference parameters leave the lowest mel band empty (128 HTK bands over
# 513 FFT bins); torchaudio warns about it on every construction. Expected, and
# emo-native reproduces it, so keep it out of the benchmark's output.
warnings.filterwarnings("ignore", message="At least one mel filterbank has all zero values")

TARGET_RATE = 48000
OFFSET = 24000      # 0.5 s
LENGTH = 144000     # 3.0 s
CHUNK_FRAMES = 128
CHUNK_STRIDE = 64
N_CHUNKS = 7


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Pipeline:
    """The reference pipeline with its transforms built once, outside any timed loop."""

    def __init__(self):
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=TARGET_RATE,
            n_fft=1024,
            win_length=512,
            hop_length=256,
            f_min=0.0,
            f_max=24000.0,
            n_mels=128,
            window_fn=torch.hamming_window,
            power=2.0,
        )
        self.to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)
        self.resamplers = {}

    def resampler(self, rate):
        # transforms.Resample caches the sinc kernel that functional.resample
        # (used by the reference code) rebuilds on every call; same defaults
        # (lowpass_filter_width=6, rolloff=0.99, Hann-windowed sinc), same
        # output. Caching it is the faster choice, i.e. fair to the baseline.
        if rate not in self.resamplers:
            self.resamplers[rate] = torchaudio.transforms.Resample(rate, TARGET_RATE)
        return self.resamplers[rate]

    def features(self, waveform, rate):
        """waveform: (channels, samples) float32 as torchaudio.load returns it."""
        if rate != TARGET_RATE:
            waveform = self.resampler(rate)(waveform)
        mono = waveform.mean(0)
        clip = mono[OFFSET:OFFSET + LENGTH]
        if clip.shape[0] < LENGTH:
            clip = torch.nn.functional.pad(clip, (0, LENGTH - clip.shape[0]))
        spec = self.to_db(self.mel(clip))  # (128, 563)
        return torch.stack(
            [spec[:, i * CHUNK_STRIDE:i * CHUNK_STRIDE + CHUNK_FRAMES] for i in range(N_CHUNKS)]
        )  # (7, 128, 128), a fresh contiguous tensor like melChunks' Float32Array

    def load_features(self, path):
        waveform, rate = torchaudio.load(path)
        return self.features(waveform, rate)


def time_it(fn, warmup, iterations, min_time_ms):
    """Same rules as the JS timeIt: warm-up calls, then at least `iterations`
    calls and `min_time_ms` of wall time; per-call times in ms."""
    for _ in range(warmup):
        fn()
    samples = []
    start = time.perf_counter_ns()
    while len(samples) < iterations or (time.perf_counter_ns() - start) / 1e6 < min_time_ms:
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    samples.sort()
    n = len(samples)
    median = samples[n // 2] if n % 2 else (samples[n // 2 - 1] + samples[n // 2]) / 2
    p90 = samples[min(n - 1, math.ceil(0.9 * n) - 1)]
    return {"median": median, "min": samples[0], "p90": p90, "mean": sum(samples) / n, "iterations": n}


def labelled(values, what):
    out = []
    for v in values or []:
        label, sep, path = v.partition("=")
        if not sep or not label or not path:
            raise SystemExit(f"--{what} expects LABEL=PATH, got {v!r}")
        out.append((label, path))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", action="append", required=True, metavar="LABEL=WAV")
    ap.add_argument("--check", action="append", metavar="LABEL=F32")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--min-time-ms", type=float, default=1000.0)
    args = ap.parse_args()
    clips = labelled(args.clip, "clip")
    checks = dict(labelled(args.check, "check"))

    emit({"type": "info", "torch": torch.__version__, "torchaudio": torchaudio.__version__,
          "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads()})
    pipe = Pipeline()

    # No autograd bookkeeping: inference only, as fast as torch goes.
    with torch.inference_mode():
        for label, path in clips:
            waveform, rate = torchaudio.load(path)
            out = pipe.features(waveform, rate)
            if label in checks:
                with open(checks[label], "rb") as f:
                    ours = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
                if ours.numel() != out.numel():
                    emit({"type": "check", "clip": label, "error": f"size {ours.numel()} != {out.numel()}"})
                else:
                    diff = (ours.reshape(out.shape) - out).abs().max().item()
                    emit({"type": "check", "clip": label, "max_abs_diff_db": diff, "shape": list(out.shape)})

            for name, fn in (
                ("features", lambda: pipe.features(waveform, rate)),
                ("load+features", lambda: pipe.load_features(path)),
            ):
                r = time_it(fn, args.warmup, args.iterations, args.min_time_ms)
                emit({"type": "timing", "clip": label, "name": name, "sample_rate": rate,
                      "channels": int(waveform.shape[0]), **r})
                print(f"torchaudio {label} {name}: {r['median']:.3f} ms/clip", file=sys.stderr)


if __name__ == "__main__":
    main()
