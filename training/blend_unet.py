"""Blend two U-Nets of one lineage weight by weight: (1 - alpha) * A + alpha * B, into a checkpoint folder.

  /usr/bin/python3 training/blend_unet.py --a training/.work/gpu --b training/.work/augment --alpha 0.75 \
      --out training/.work/blend

Why: the augmented fine-tune (finetune_augment.py) gives seeds variety but blurs and warps many pictures after
its CPU budget; the GPU U-Net is clean but memorises. Both start from the same weights, so points between them
are still working U-Nets ("model soup"), trading variety for cleanliness by alpha. Everything but unet.pt
(autoencoder, text encoder, log.json with a "blend" section added) comes from --b, so export.py takes --out as is;
--text takes the text encoder from another file instead (a later caption distillation: it changes keyword captions,
while names, which both U-Nets learned to draw, stay anchored to the same embeddings).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from train import save_atomic  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="checkpoint folder whose unet.pt counts 1 - alpha")
    ap.add_argument("--b", required=True, help="checkpoint folder whose unet.pt counts alpha; the rest is copied from here")
    ap.add_argument("--alpha", type=float, required=True)
    ap.add_argument("--text", default=None, help="text_encoder.pt to ship instead of --b's")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if not 0 <= args.alpha <= 1:
        raise SystemExit(f"expected --alpha in [0, 1], got {args.alpha}")
    a, b, out = Path(args.a), Path(args.b), Path(args.out)
    ua, ub = torch.load(a / "unet.pt", map_location="cpu"), torch.load(b / "unet.pt", map_location="cpu")
    if ua.keys() != ub.keys() or any(ua[k].shape != ub[k].shape for k in ua):
        raise SystemExit(f"{a / 'unet.pt'} and {b / 'unet.pt'} are not the same architecture")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(b / "ae.pt", out / "ae.pt")
    text = Path(args.text) if args.text else b / "text_encoder.pt"
    shutil.copy(text, out / "text_encoder.pt")
    blended = {k: ((1 - args.alpha) * ua[k].float() + args.alpha * ub[k].float()).to(ub[k].dtype) for k in ua}
    save_atomic(blended, out / "unet.pt")
    log = json.loads((b / "log.json").read_text())
    log["blend"] = {"a": str(a), "b": str(b), "alpha": args.alpha, "unet": "(1 - alpha) * a + alpha * b",
                    "text_encoder": str(text)}
    save_atomic(log, out / "log.json")
    print(f"{out / 'unet.pt'}: {1 - args.alpha:g} x {a.name} + {args.alpha:g} x {b.name}")


if __name__ == "__main__":
    main()
