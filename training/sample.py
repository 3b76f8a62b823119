"""PyTorch reference sampler (Euler ancestral, trailing spacing, classifier-free guidance) and a quick eval.

  /usr/bin/python3 training/sample.py --ckpt training/.work/gpu [--steps 20] [--guidance 5] [--seeds 2]

For every prompt in training/eval_prompts.json it samples one image per seed, then finds the nearest
training image in a fixed feature space: the 64x64 RGB image (on white) average-pooled to 16x16, L2
distance. Prints top-1 / top-5 (intended emoji among the 5 nearest) per prompt kind, and seed diversity:
the RMS pixel difference between two seeds' images of the same prompt, and how often their nearest
training images differ. Writes a sample grid to training/.work/samples.png.
This is the sanity figure from PyTorch; the engine's own evaluation runs the ONNX models.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import ClipTokenizer  # noqa: E402
from models import AutoEncoder, TextEncoder, UNet  # noqa: E402
from train import alphas_cumprod, load_half  # noqa: E402


def load(ckpt: Path, tok: ClipTokenizer):
    def half(m, f):
        return load_half(m, ckpt / f).eval().requires_grad_(False)
    log = json.loads((ckpt / "log.json").read_text())
    ae = half(AutoEncoder(), "ae.pt")
    te = half(TextEncoder(len(tok.encoder), tok.max_length), "text_encoder.pt")
    unet = half(UNet(ctx_dim=256), "unet.pt")
    return ae, te, unet, log["ae"]["scaling_factor"]


@torch.no_grad()
def euler_ancestral(unet, te, tok, prompts: list[str], seeds: list[int], steps: int, guidance: float,
                    size: int = 16) -> torch.Tensor:
    """diffusers EulerAncestralDiscreteScheduler with timestep_spacing='trailing'; returns scaled latents."""
    ac = alphas_cumprod("cpu").double()
    T = len(ac)
    ts = np.round(np.arange(T, 0, -T / steps)).astype(np.int64) - 1  # trailing: 999, ..., T/steps - 1
    all_sig = ((1 - ac) / ac).sqrt().numpy()
    sig = np.append(np.interp(ts, np.arange(T), all_sig), 0.0)
    b = len(prompts)
    cond = te(torch.tensor([tok(p) for p in prompts]))
    uncond = te(torch.tensor([tok("")] * b))
    ctx = torch.cat([uncond, cond])
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    def noise():
        return torch.stack([torch.randn(4, size, size, generator=g) for g in gens])
    x = noise() * float(sig.max())  # init_noise_sigma for trailing spacing
    for i, t in enumerate(ts):
        s, s_next = float(sig[i]), float(sig[i + 1])
        xin = x / (s * s + 1) ** 0.5
        eps = unet(torch.cat([xin, xin]), torch.tensor([float(t)]), ctx)
        eu, ec = eps.chunk(2)
        eps = eu + guidance * (ec - eu)
        x0 = x - s * eps
        s_up = (s_next ** 2 * (s ** 2 - s_next ** 2) / s ** 2) ** 0.5
        s_down = (s_next ** 2 - s_up ** 2) ** 0.5
        x = x + (x - x0) / s * (s_down - s)
        if s_next > 0:
            x = x + noise() * s_up
    return x


def feature(img: torch.Tensor) -> torch.Tensor:
    """[B,3,64,64] in [-1,1] -> [B, 768]: 16x16 average-pooled RGB in [0,1]."""
    return F.avg_pool2d((img.clamp(-1, 1) + 1) / 2, 4).flatten(1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=str(HERE / ".work" / "gpu"))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--out", default=None, help="write figures as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(2)
    tok = ClipTokenizer.load(HERE / ".work" / "tokenizer")
    ae, te, unet, sf = load(Path(args.ckpt), tok)
    npz = np.load(HERE / ".work" / "dataset.npz")
    train = torch.from_numpy(npz["images"]).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    codes = [str(c) for c in npz["codes"]]
    train_f = feature(train)
    prompts = json.loads((HERE / "eval_prompts.json").read_text())["prompts"]
    t0 = time.time()
    feats, imgs = [], []
    for seed in range(args.seeds):
        fs, ims = [], []
        for i in range(0, len(prompts), args.batch):
            chunk = prompts[i:i + args.batch]
            lat = euler_ancestral(unet, te, tok, [p["prompt"] for p in chunk],
                                  [1000 * seed + i + j for j in range(len(chunk))], args.steps, args.guidance)
            with torch.no_grad():
                im = ae.decoder(lat / sf).clamp(-1, 1)
            fs.append(feature(im))
            ims.append(im)
        feats.append(torch.cat(fs))
        imgs.append(torch.cat(ims))
    secs = time.time() - t0
    res: dict = {"steps": args.steps, "guidance": args.guidance, "seeds": args.seeds, "sampler": "euler_ancestral trailing",
                 "feature": "16x16 average-pooled RGB, L2", "seconds": round(secs, 1)}
    for kind in ("name", "paraphrase"):
        idx = [i for i, p in enumerate(prompts) if p["kind"] == kind]
        top1 = top5 = 0
        for s in range(args.seeds):
            d = torch.cdist(feats[s][idx], train_f)
            order = d.argsort(dim=1)[:, :5]
            for row, i in zip(order.tolist(), idx):
                tgt = codes.index(prompts[i]["unified"])
                top1 += row[0] == tgt
                top5 += tgt in row
        n = len(idx) * args.seeds
        res[kind] = {"prompts": len(idx), "top1": round(top1 / n, 3), "top5": round(top5 / n, 3)}
    if args.seeds >= 2:
        rms = ((imgs[0] - imgs[1]) / 2).pow(2).mean(dim=(1, 2, 3)).sqrt()
        nn0 = torch.cdist(feats[0], train_f).argmin(1)
        nn1 = torch.cdist(feats[1], train_f).argmin(1)
        res["seed_diversity"] = {"rms_pixel_diff_0_1": round(rms.mean().item(), 4),
                                 "nearest_differs": round((nn0 != nn1).float().mean().item(), 3)}
    # grid: first 16 name prompts and first 8 paraphrases, seed rows
    pick = list(range(16)) + [i for i, p in enumerate(prompts) if p["kind"] == "paraphrase"][:8]
    rows = [torch.cat([imgs[s][i] for i in pick], dim=2) for s in range(min(args.seeds, 2))]
    grid = ((torch.cat(rows, dim=1).permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
    Image.fromarray(grid).save(HERE / ".work" / "samples.png")
    print(json.dumps(res))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
