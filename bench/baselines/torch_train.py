"""PyTorch baseline for the train benchmark suite (bench/suites/train.js).

The emotion network of docs/architecture.md ("The network") in PyTorch 1.13, the way the reference
implementation writes it: channels-first, the 7 chunks folded into the batch for the
convolution blocks (what TimeDistributed means there), unfolded again for the BiLSTM.

  per chunk: [Conv2d 3x3 pad 1 -> BatchNorm2d -> ReLU -> MaxPool2d -> Dropout 0.3] x 3
             (16, 32, 64 filters; pools 2, 4, 4) -> flatten 64*4*4 = 1024
             -> Linear 1024->256 -> ReLU
  BiLSTM 256 -> 2x128, all steps -> Dropout 0.4
  attention: Linear 256->1 score per step, softmax over the 7 steps, weighted sum -> 256
  Linear 256->8 (logits; CrossEntropyLoss applies the log-softmax)

Same layers, activations and batch-norm settings as lib/nn/model.ts (which uses PyTorch's
BatchNorm defaults: momentum 0.1, eps 1e-5). Parameters: 683 497, i.e. the tfjs model's
682 473 plus 1 024 for the second LSTM bias vector (b_hh) PyTorch keeps per gate.

Measured on random input (N, 7, 128, 128) (unsqueezed to (N, 7, 1, 128, 128)):
  train step    forward + cross-entropy + backward + Adam step (lr 1e-3) + zero_grad,
                model.train(), batch 32 by default
  forward       model.eval() under torch.inference_mode(), batch 32 (throughput)
  forward b1    the same at batch 1 (latency)

Usage (the suite runs it; by hand from the repository root):

  /usr/bin/python3 bench/baselines/torch_train.py [--threads 2] [--batch 32]
      [--warmup 2] [--steps 5] [--forward-iterations 10] [--latency-iterations 30]

Output: one JSON object per stdout line (nothing else is printed to stdout):

  {"type": "info", "torch": "...", "threads": 2, "params": 683497, ...}
  {"type": "timing", "name": "train step", "batch": 32, "median": ms, "min": ms, "p90": ms,
   "mean": ms, "iterations": n}
  {"type": "timing", "name": "forward", "batch": 32, ...}
  {"type": "timing", "name": "forward", "batch": 1, ...}
"""

import argparse
import json
import math
import sys
import time

import torch
from torch import nn

CHUNKS = 7
MELS = 128
FRAMES = 128
CLASSES = 8


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class EmotionNet(nn.Module):
    def __init__(self):
        super().__init__()
        blocks = []
        channels = 1
        for filters, pool in ((16, 2), (32, 4), (64, 4)):
            blocks += [
                nn.Conv2d(channels, filters, kernel_size=3, padding=1),
                nn.BatchNorm2d(filters),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(pool),
                nn.Dropout(0.3),
            ]
            channels = filters
        self.chunk_cnn = nn.Sequential(*blocks)
        self.chunk_dense = nn.Linear(64 * 4 * 4, 256)
        self.lstm = nn.LSTM(256, 128, batch_first=True, bidirectional=True)
        self.lstm_dropout = nn.Dropout(0.4)
        self.attention = nn.Linear(256, 1)
        self.out = nn.Linear(256, CLASSES)

    def forward(self, x):
        """x: (N, 7, 128, 128) or (N, 7, 1, 128, 128) -> logits (N, 8)."""
        n, t = x.shape[0], x.shape[1]
        x = x.reshape(n * t, 1, MELS, FRAMES)              # fold the chunks into the batch
        x = self.chunk_cnn(x)                              # (N*7, 64, 4, 4)
        x = torch.relu(self.chunk_dense(x.reshape(n, t, -1)))  # (N, 7, 256)
        x, _ = self.lstm(x)                                # (N, 7, 256)
        x = self.lstm_dropout(x)
        weights = torch.softmax(self.attention(x).squeeze(-1), dim=1)  # (N, 7)
        context = torch.bmm(weights.unsqueeze(1), x).squeeze(1)        # (N, 256)
        return self.out(context)


def summarize(samples):
    """Same order statistics as the JS side (bench/lib/timing.js)."""
    samples = sorted(samples)
    n = len(samples)
    median = samples[n // 2] if n % 2 else (samples[n // 2 - 1] + samples[n // 2]) / 2
    p90 = samples[min(n - 1, math.ceil(0.9 * n) - 1)]
    return {"median": median, "min": samples[0], "p90": p90, "mean": sum(samples) / n, "iterations": n}


def time_calls(fn, warmup, iterations):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return summarize(samples)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--forward-iterations", type=int, default=10)
    ap.add_argument("--latency-iterations", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)  # no inter-op parallelism in this sequential graph
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)

    model = EmotionNet()
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    emit({"type": "info", "torch": torch.__version__, "threads": torch.get_num_threads(),
          "interop_threads": torch.get_num_interop_threads(), "params": params, "trainable": trainable,
          "mkldnn": torch.backends.mkldnn.is_available()})

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(args.batch, CHUNKS, MELS, FRAMES) * 15 - 40  # the scale of dB mel features
    x = x.unsqueeze(2)  # (N, 7, 1, 128, 128): channels-first chunks
    y = torch.arange(args.batch) % CLASSES

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()  # forces completion, as the JS side reads its loss back

    model.train()
    r = time_calls(train_step, args.warmup, args.steps)
    emit({"type": "timing", "name": "train step", "batch": args.batch, **r})
    print(f"pytorch train step batch {args.batch}: {r['median']:.1f} ms", file=sys.stderr)

    model.eval()
    with torch.inference_mode():
        r = time_calls(lambda: model(x), 2, args.forward_iterations)
        emit({"type": "timing", "name": "forward", "batch": args.batch, **r})
        print(f"pytorch forward batch {args.batch}: {r['median']:.1f} ms", file=sys.stderr)
        x1 = x[:1].clone()
        r = time_calls(lambda: model(x1), 5, args.latency_iterations)
        emit({"type": "timing", "name": "forward", "batch": 1, **r})
        print(f"pytorch forward batch 1: {r['median']:.2f} ms", file=sys.stderr)


if __name__ == "__main__":
    main()
