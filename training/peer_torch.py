"""PyTorch side of bench/peer.ts: time text-to-image with the checkpoints in PyTorch eager (CPU).

  /usr/bin/python3 training/peer_torch.py --ckpt training/.work/gpu --runs 5 --steps 20 --batch 4 --guidance 7.5

One run = what the engine does for one request: tokenize, text encoder (negative + positive), `steps`
Euler-ancestral steps (trailing spacing) with the U-Net on 2 x batch rows (classifier-free guidance), VAE
decode, images clamped to [-1, 1]. One warm-up run first. Prints one JSON line: per-run milliseconds.
With --serve it prints {"ready": ...} after the warm-up, then runs once per line read on stdin (the line is
the seed) and prints {"ms": ...}, so bench/peer.ts can alternate PyTorch and engine runs under the same load.
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

    once(0)  # warm-up
    if args.serve:
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": threads}), flush=True)
        for line in sys.stdin:
            print(json.dumps({"ms": round(once(int(line)), 1)}), flush=True)
        return
    ms = [round(once(1000 * (r + 1)), 1) for r in range(args.runs)]
    print(json.dumps({"torch": torch.__version__, "threads": threads, "steps": args.steps, "batch": args.batch,
                      "guidance": args.guidance, "runs_ms": ms}))


if __name__ == "__main__":
    main()
