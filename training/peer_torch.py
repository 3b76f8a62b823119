"""PyTorch side of bench/peer.ts: time text-to-image with the checkpoints in PyTorch eager (CPU).

  /usr/bin/python3 training/peer_torch.py --ckpt training/.work/gpu --runs 5 --steps 20 --batch 4 --guidance 7.5

One run = what the engine does for one request: tokenize, text encoder (negative + positive), `steps`
Euler-ancestral steps (trailing spacing) with the U-Net on 2 x batch rows (classifier-free guidance), VAE
decode, images clamped to [-1, 1]. One warm-up run first. Prints one JSON line: per-run milliseconds.
With --serve it prints {"ready": ...} after the warm-up, then runs once per line read on stdin (the line is
the seed) and prints {"ms": ...}, so bench/peer.ts can alternate PyTorch and engine runs under the same load.
Both outputs also give the arithmetic of one run ("gflop") and this machine's float32 matmul peak at the same
thread count ("sgemm_gflops"), so the bench can say how fast any float32 engine could be here.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import ClipTokenizer  # noqa: E402
from sample import euler_ancestral, load  # noqa: E402


def count_gflop(models: list[torch.nn.Module], run) -> float:
    """GFLOP (2 per multiply-add) of run(): convolutions, linear layers and the two attention products,
    counted by forward hooks; elementwise work (norms, activations, resampling) is not counted."""
    from models import Attention
    flop = 0

    def hook(m, args, out):
        nonlocal flop
        if isinstance(m, torch.nn.Conv2d):
            kh, kw = m.kernel_size
            flop += 2 * out.numel() * (m.in_channels // m.groups) * kh * kw
        elif isinstance(m, torch.nn.Linear):
            flop += 2 * out.numel() * m.in_features
        elif isinstance(m, Attention):
            x, ctx = args[0], args[1] if len(args) > 1 and args[1] is not None else args[0]
            flop += 2 * 2 * x.shape[0] * x.shape[1] * ctx.shape[1] * x.shape[2]  # q @ k^T and w @ v

    handles = [sub.register_forward_hook(hook) for m in models for sub in m.modules()]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return flop / 1e9


def sgemm_gflops(n: int = 2048, reps: int = 5) -> float:
    """The best of `reps` n x n float32 matrix products: what the cores sustain on the friendliest work."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=str(HERE / ".work" / "gpu"))
    ap.add_argument("--tokenizer", default=str(HERE.parent / "models" / "emoji-tiny" / "tokenizer"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--prompt", default="a smiling red apple")
    ap.add_argument("--serve", action="store_true", help="run once per stdin line (the seed), print {\"ms\"}")
    args = ap.parse_args()
    threads = int(os.environ.get("TORCH_THREADS", "2"))
    torch.set_num_threads(threads)
    tok = ClipTokenizer.load(Path(args.tokenizer))
    ae, te, unet, sf = load(Path(args.ckpt), tok)

    def once(seed: int) -> float:
        t0 = time.perf_counter()
        lat = euler_ancestral(unet, te, tok, [args.prompt] * args.batch, [seed + i for i in range(args.batch)],
                              args.steps, args.guidance)
        with torch.no_grad():
            ae.decoder(lat / sf).clamp(-1, 1)
        return (time.perf_counter() - t0) * 1000

    # the warm-up run is also the one whose work is counted (the hooks slow it, it is not timed)
    work = {"gflop": round(count_gflop([ae, te, unet], lambda: once(0)), 2), "sgemm_gflops": round(sgemm_gflops(), 1)}
    if args.serve:
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": threads, **work}), flush=True)
        for line in sys.stdin:
            print(json.dumps({"ms": round(once(int(line)), 1)}), flush=True)
        return
    ms = [round(once(1000 * (r + 1)), 1) for r in range(args.runs)]
    print(json.dumps({"torch": torch.__version__, "threads": threads, "steps": args.steps, "batch": args.batch,
                      "guidance": args.guidance, "runs_ms": ms, **work}))


if __name__ == "__main__":
    main()
