"""PyTorch baseline for the infer and classify benchmark suites (bench/suites/infer.js, classify.js).

The reference stack end to end: torchaudio.load + the reference feature pipeline
(torchaudio_dsp.Pipeline) + the reference network (torch_train.EmotionNet, random weights,
model.eval() under torch.inference_mode()), on --threads threads (2 by default), the way the
reference implementation classifies a clip.

Measured, on the WAV files given:
  latency        one file: load + features + model at batch 1 (the reference's get_emotion_prediction)
  forward        the model alone at --batch (throughput) and at batch 1
  features       load + features of one file, per clip
  end-to-end     every file: load + features, stacked --batch at a time, model, argmax;
                 clips/s over the whole list (the best of --passes passes)

Usage (the suites run it; by hand from the repository root):

  /usr/bin/python3 bench/baselines/torch_infer.py --threads 2 --batch 32 FILE.wav [FILE.wav ...]
      [--latency-iterations 30] [--passes 2] [--skip-latency]

Output: one JSON object per stdout line (nothing else is printed to stdout):

  {"type": "info", "torch": "...", "torchaudio": "...", "threads": 2, "files": n}
  {"type": "timing", "name": "latency" | "forward" | "features", "batch": b, "median": ms, ...}
  {"type": "throughput", "name": "end-to-end", "clips": n, "seconds": s, "clips_per_s": r}
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torchaudio  # noqa: E402

# torchaudio_dsp pins torch to one thread at import (its suite times one thread); the
# threads asked for here are set after the imports.
from torchaudio_dsp import Pipeline, time_it  # noqa: E402
from torch_train import CHUNKS, FRAMES, MELS, EmotionNet  # noqa: E402


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--latency-iterations", type=int, default=30)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--skip-latency", action="store_true", help="only the end-to-end pass (classify suite)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = EmotionNet().eval()
    pipeline = Pipeline()
    emit({"type": "info", "torch": torch.__version__, "torchaudio": torchaudio.__version__,
          "threads": torch.get_num_threads(), "files": len(args.files)})

    with torch.inference_mode():
        if not args.skip_latency:
            first = args.files[0]
            r = time_it(lambda: model(pipeline.load_features(first).unsqueeze(0)).softmax(-1), 5, args.latency_iterations, 1000)
            emit({"type": "timing", "name": "latency", "batch": 1, **r})
            r = time_it(lambda: pipeline.load_features(first), 5, args.latency_iterations, 1000)
            emit({"type": "timing", "name": "features", "batch": 1, **r})
            x = torch.randn(args.batch, CHUNKS, MELS, FRAMES) * 15 - 40
            r = time_it(lambda: model(x).softmax(-1), 1, 5, 1000)
            emit({"type": "timing", "name": "forward", "batch": args.batch, **r})
            x1 = x[:1].clone()
            r = time_it(lambda: model(x1).softmax(-1), 5, args.latency_iterations, 1000)
            emit({"type": "timing", "name": "forward", "batch": 1, **r})

        best = None
        for _ in range(max(1, args.passes)):
            t0 = time.perf_counter_ns()
            labels = []
            for i in range(0, len(args.files), args.batch):
                batch = torch.stack([pipeline.load_features(f) for f in args.files[i:i + args.batch]])
                labels.extend(model(batch).softmax(-1).argmax(-1).tolist())
            seconds = (time.perf_counter_ns() - t0) / 1e9
            best = seconds if best is None else min(best, seconds)
        emit({"type": "throughput", "name": "end-to-end", "clips": len(args.files), "seconds": best,
              "clips_per_s": len(args.files) / best})
        print(f"pytorch end-to-end: {len(args.files) / best:.1f} clips/s", file=sys.stderr)


if __name__ == "__main__":
    main()
