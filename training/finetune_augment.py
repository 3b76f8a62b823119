"""Fine-tune the U-Net on augmented pictures so that different seeds draw different pictures; CPU, hours.

  /usr/bin/python3 training/finetune_augment.py --minutes 90 --out training/.work/augment
  /usr/bin/python3 training/finetune_augment.py --preview training/.work/augment_views.png   (augmentations only)

Why: trained on exactly one picture per emoji, the U-Net memorises it; two seeds of a name give the same image
(seed RMS 0.012 through the engine). Here every emoji is seen as up to --views fixed random views (the original,
shrunk to 70-100 %, moved inside the canvas, turned up to 15 degrees, mirrored where mirroring keeps its
meaning), so a prompt has a family of right answers and the starting noise picks one.

Starts from --init (autoencoder, U-Net) and --text (the shipped, caption-distilled text encoder), both frozen
except the U-Net. Captions are drawn like train.py --compose does: the name 40 %, 1-3 keyword phrases 35 %, fixed
captions 25 % (distill_captions.Sampler: the evaluation's held-out keyword pairs never appear together), dropped
to "" 10 % of the time for classifier-free guidance. Writes ae.pt, text_encoder.pt (copies), unet.pt (EMA, fp16)
and log.json (the --init log plus an "augment" section) to --out every --ckpt-every seconds, so export.py takes
the folder as is.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import ClipTokenizer  # noqa: E402
from distill_captions import Sampler  # noqa: E402
from models import AutoEncoder, TextEncoder, UNet  # noqa: E402
from train import DROP_P, NAME_P, Ema, Every, alphas_cumprod, half_state, load_half, lr_at, save_atomic  # noqa: E402

# Mirroring changes what these mean (directions, text, clock faces); they are only shrunk, moved and turned.
NO_MIRROR_WORDS = ("left", "right", "arrow", "button", "clock", "o’clock", "letter", "sign", "input", "mark")
NO_MIRROR_CATEGORIES = ("Symbols", "Flags")


def mirrorable(name: str, category: str) -> bool:
    words = name.lower().replace("-", " ").split()
    return category not in NO_MIRROR_CATEGORIES and not any(w in words for w in NO_MIRROR_WORDS)


def augment(imgs: torch.Tensor, mirror_ok: torch.Tensor, gen: torch.Generator,
            scale=(0.7, 1.0), max_turn_deg: float = 15.0) -> torch.Tensor:
    """One random view of each picture in [-1, 1] on white: shrink, turn, move inside the canvas, maybe mirror."""
    n = imgs.shape[0]
    s = torch.empty(n).uniform_(*scale, generator=gen)
    a = torch.empty(n).uniform_(-max_turn_deg, max_turn_deg, generator=gen) * math.pi / 180
    # the shrunk picture may move by the margin it frees (normalised coordinates span 2)
    tx = torch.empty(n).uniform_(-1, 1, generator=gen) * (1 - s)
    ty = torch.empty(n).uniform_(-1, 1, generator=gen) * (1 - s)
    flip = torch.where((torch.rand(n, generator=gen) < 0.5) & mirror_ok, -1.0, 1.0)
    # affine_grid maps output coordinates to input ones: the inverse of "scale by s, turn by a, move by t"
    cos, sin = torch.cos(a) / s, torch.sin(a) / s
    theta = torch.stack([torch.stack([cos * flip, sin, -(cos * tx + sin * ty)], 1),
                         torch.stack([-sin * flip, cos, -(-sin * tx + cos * ty)], 1)], 1)
    grid = F.affine_grid(theta, list(imgs.shape), align_corners=False)
    # sample (x - 1) so that what comes from outside the picture is white, not black
    return F.grid_sample(imgs - 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=90)
    ap.add_argument("--out", default=str(HERE / ".work" / "augment"))
    ap.add_argument("--init", default=str(HERE / ".work" / "gpu"), help="folder with ae.pt, unet.pt, log.json")
    ap.add_argument("--text", default=str(HERE / ".work" / "distill2" / "text_encoder.pt"), help="the text encoder (frozen)")
    ap.add_argument("--data", default=str(HERE / ".work"))
    ap.add_argument("--views", type=int, default=16, help="fixed random views per emoji, the original among them")
    ap.add_argument("--original-p", type=float, default=0.25, help="how often a row shows the original picture")
    ap.add_argument("--min-scale", type=float, default=0.7, help="views are shrunk to between this and 100 %%")
    ap.add_argument("--max-turn", type=float, default=15.0, help="views are turned by up to this many degrees")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ckpt-every", type=float, default=300)
    ap.add_argument("--preview", default=None, help="only write a PNG grid of the views of a few emoji and exit")
    args = ap.parse_args()

    t_start = time.time()
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    init, data, out = Path(args.init), Path(args.data), Path(args.out)
    npz = np.load(data / "dataset.npz")
    imgs = torch.from_numpy(npz["images"]).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    n = imgs.shape[0]
    mirror_ok = torch.tensor([mirrorable(str(a), str(c)) for a, c in zip(npz["names"], npz["categories"])])
    views = torch.stack([imgs] + [augment(imgs, mirror_ok, gen, (args.min_scale, 1.0), args.max_turn)
                                  for _ in range(args.views - 1)], 1)  # [n, V, 3, 64, 64]

    if args.preview:
        from PIL import Image
        pick = torch.linspace(0, n - 1, 8).long()
        rows = views[pick].add(1).mul(127.5).clamp(0, 255).byte().permute(0, 3, 1, 4, 2)  # [8, 64, V, 64, 3]
        Image.fromarray(rows.reshape(8 * 64, args.views * 64, 3).numpy()).save(args.preview)
        print(f"{args.preview}: {args.views} views of 8 emoji; {int(mirror_ok.sum())}/{n} may be mirrored")
        return

    out.mkdir(parents=True, exist_ok=True)
    log = json.loads((init / "log.json").read_text())
    sf = log["ae"]["scaling_factor"]
    ae = load_half(AutoEncoder(), init / "ae.pt").eval().requires_grad_(False)
    with torch.no_grad():
        flat = views.flatten(0, 1)
        zs = torch.cat([ae.encoder(flat[i:i + 256]) for i in range(0, len(flat), 256)]).mul(sf)
    zs = zs.view(n, args.views, *zs.shape[1:])
    del views, flat, ae
    print(f"{n} emoji x {args.views} views encoded ({time.time() - t_start:.0f}s); "
          f"{int(mirror_ok.sum())} may be mirrored", flush=True)

    tok = ClipTokenizer.load(data / "tokenizer")
    sampler = Sampler(data, tok, npz, fixed_share=0.25 / (1 - NAME_P))
    te = load_half(TextEncoder(len(tok.encoder), tok.max_length), Path(args.text)).eval().requires_grad_(False)
    unet = load_half(UNet(ctx_dim=256), init / "unet.pt").train()
    ema = Ema(unet, 0.999)
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ac = alphas_cumprod("cpu")
    snr = ac / (1 - ac)
    weight = torch.clamp(snr, max=5.0) / snr  # min-SNR-5, as train.py
    for name in ("ae.pt", "log.json"):
        shutil.copy(init / name, out / name)
    shutil.copy(args.text, out / "text_encoder.pt")

    bs, t0 = args.batch, time.time()
    budget = args.minutes * 60 - (t0 - t_start) - 15
    step, hist, acc, print_due, ckpt_due = 0, [], [], Every(30), Every(args.ckpt_every)

    def checkpoint(final: bool = False) -> None:
        save_atomic(half_state(ema.model), out / "unet.pt")
        el = time.time() - t0
        log["augment"] = {"init": str(init), "text_encoder": str(args.text), "views": args.views, "original_p": args.original_p,
                          "scale": [args.min_scale, 1.0], "max_turn_deg": args.max_turn, "mirrorable": int(mirror_ok.sum()), "steps": step,
                          "batch": bs, "seconds": round(el, 1), "lr": args.lr, "loss_curve": hist, "final": final,
                          "captions": {"name": NAME_P, "composed_and_fixed": 1 - NAME_P, "dropout": DROP_P}}
        save_atomic(log, out / "log.json")

    while time.time() - t0 < budget:
        for g in opt.param_groups:
            g["lr"] = lr_at((time.time() - t0) / budget, step, args.lr, 50)
        n_name = int(round(bs * NAME_P))
        ids, owner, _, _ = sampler.batch(bs - n_name)
        name_idx = torch.randint(0, n, (n_name,))
        ids, idx = torch.cat([sampler.names[name_idx], ids]), torch.cat([name_idx, owner])
        ids = torch.where((torch.rand(bs) < DROP_P)[:, None], sampler.empty[None], ids)
        view = torch.where(torch.rand(bs) < args.original_p, 0, torch.randint(1, args.views, (bs,)))
        x0 = zs[idx, view]
        t = torch.randint(0, len(ac), (bs,))
        noise = torch.randn_like(x0)
        a = ac[t][:, None, None, None]
        with torch.no_grad():
            ctx = te(ids)
        pred = unet(a.sqrt() * x0 + (1 - a).sqrt() * noise, t.float(), ctx)
        loss = (((pred - noise) ** 2).mean(dim=(1, 2, 3)) * weight[t]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        ema.update(unet, step)
        step += 1
        acc.append(loss.item())
        if step % 100 == 0:
            hist.append((step, round(sum(acc) / len(acc), 5)))
            acc = []
        if print_due():
            now = time.time()
            print(f"step {step} loss {loss.item():.4f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"({step / (now - t0):.2f} it/s, {now - t_start:.0f}s)", flush=True)
        if ckpt_due():
            checkpoint()
    checkpoint(final=True)
    print(f"done: {step} steps in {time.time() - t0:.0f}s -> {out}", flush=True)


if __name__ == "__main__":
    main()
