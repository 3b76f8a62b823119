"""Train the embedded model within a wall-clock budget: autoencoder first, then text encoder + U-Net jointly.

  /usr/bin/python3 training/train.py --device cpu --minutes 60 --out training/.work/ckpt
  python3 train.py --device cuda --minutes 7 --out $OUT            (GPU machine, torch 2.x)

Needs training/.work/{dataset.npz,captions.json,tokenizer/} from prepare_data.py. Writes to --out, again
every checkpoint interval (so a killed run still leaves weights): ae.pt, text_encoder.pt, unet.pt (EMA
weights, fp16 state_dicts) and log.json (config, parameter counts, losses, AE PSNR, latent statistics,
scaling factor, latent->RGB preview factors, timings). --init DIR continues from such a folder (skips the
autoencoder phase when DIR has ae.pt).

The whole data set lives on the device as tensors; batches are index draws, no data loader.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import ClipTokenizer  # noqa: E402
from models import AutoEncoder, TextEncoder, UNet, count  # noqa: E402

T = 1000
NAME_P = 0.4  # probability of the main name as caption; otherwise a uniform draw over all captions
DROP_P = 0.1  # caption dropout for classifier-free guidance


def alphas_cumprod(device) -> torch.Tensor:
    """SD's scaled_linear schedule: betas = linspace(sqrt(0.00085), sqrt(0.012))^2."""
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, T, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float().to(device)


def half_state(m: torch.nn.Module) -> dict:
    return {k: v.detach().to("cpu", torch.float16) for k, v in m.state_dict().items()}


def load_half(module: torch.nn.Module, path) -> torch.nn.Module:
    """The inverse of half_state: load an fp16 state dict saved by these scripts into float32 weights."""
    module.load_state_dict({k: v.float() for k, v in torch.load(path, map_location="cpu").items()})
    return module


def save_atomic(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    if isinstance(obj, (dict, list)) and path.suffix == ".json":
        tmp.write_text(json.dumps(obj, indent=1))
    else:
        torch.save(obj, tmp)
    os.replace(tmp, path)


class Every:
    """True at most once per `seconds` of wall time: progress lines and checkpoints in the training loops."""

    def __init__(self, seconds: float):
        self.seconds, self.last = seconds, time.time()

    def __call__(self) -> bool:
        now = time.time()
        if now - self.last <= self.seconds:
            return False
        self.last = now
        return True


class Ema:
    def __init__(self, model: torch.nn.Module, decay: float):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        ema_p = list(self.model.parameters())
        torch._foreach_mul_(ema_p, d)  # one fused launch per group instead of two per tensor
        torch._foreach_add_(ema_p, [p.detach() for p in model.parameters()], alpha=1 - d)


def lr_at(frac: float, step: int, base: float, warm: int) -> float:
    """Linear warm-up by steps, cosine decay to 5 % by elapsed fraction of the time budget."""
    return base * min(1.0, (step + 1) / warm) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


class Composer:
    """Captions of 1-3 keyword phrases of an emoji, drawn fresh per batch row and joined on the device.

    CLIP's pre-tokenizer never lets a token span a space, so the ids of "a b" are ids(a) + ids(b): phrases are
    tokenized once and concatenated here. Pairs listed as forbidden (the evaluation's held-out keyword pairs)
    are never drawn together: the second of the two is dropped from the caption.
    """

    K_PROBS = (0.25, 0.5, 0.25)  # one, two or three phrases
    MAX_PHRASE = 12

    def __init__(self, path: Path, tok: ClipTokenizer, npz, cap_ids: torch.Tensor, cap_start: torch.Tensor, dev):
        kw = json.loads(path.read_text())
        if kw["codes"] != [str(c) for c in npz["codes"]]:
            raise SystemExit(f"{path} was made for another dataset.npz: rerun keywords.py")
        pools = kw["pools"]
        flat = [tok.encode_text(p)[: self.MAX_PHRASE] for pool in pools for p in pool] or [[]]
        self.phrases = len(flat)
        self.held = len(kw["held_out_pairs"])
        W = max(1, max(len(f) for f in flat))
        self.ids = torch.tensor([f + [0] * (W - len(f)) for f in flat], dtype=torch.long, device=dev)
        self.lens = torch.tensor([len(f) for f in flat], dtype=torch.long, device=dev)
        count = torch.tensor([len(p) for p in pools], device=dev)
        self.count, self.start = count, torch.cumsum(count, 0) - count
        self.kmax = max(3, int(count.max()))
        fmax = max(1, max(len(f) for f in kw["forbidden_index_pairs"]))
        self.forbid = torch.full((len(pools), fmax, 2), -1, dtype=torch.long, device=dev)
        for i, fs in enumerate(kw["forbidden_index_pairs"]):
            for j, (a, b) in enumerate(fs):
                self.forbid[i, j, 0], self.forbid[i, j, 1] = a, b
        self.k_cdf = torch.tensor(np.cumsum(self.K_PROBS), dtype=torch.float32, device=dev)
        self.names = (cap_ids, cap_start)
        self.bos, self.eos, self.L, self.W = tok.bos, tok.eos, tok.max_length, W

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        return self.join(idx, *self.draw(idx))

    def draw(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per row up to 3 pool indices (chosen) and which of them are used (valid)."""
        bs, dev = idx.shape[0], idx.device
        count = self.count[idx]
        k = torch.searchsorted(self.k_cdf, torch.rand(bs, device=dev) * self.k_cdf[-1]).clamp(max=2) + 1
        k = torch.minimum(k, count)
        # k distinct pool entries in random order: sort random scores, invalid slots last
        slot = torch.arange(self.kmax, device=dev)[None]
        scores = torch.rand(bs, self.kmax, device=dev).masked_fill(slot >= count[:, None], 2.0)
        chosen = scores.argsort(dim=1)[:, :3]
        valid = torch.arange(3, device=dev)[None] < k[:, None]
        for f in range(self.forbid.shape[1]):
            fa, fb = self.forbid[idx, f, 0], self.forbid[idx, f, 1]
            has_a = ((chosen == fa[:, None]) & valid & (fa[:, None] >= 0)).any(1)
            valid &= ~((chosen == fb[:, None]) & has_a[:, None])
        return chosen, valid

    def join(self, idx: torch.Tensor, chosen: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """[BOS, phrase ids..., EOS, EOS pads] like ClipTokenizer.__call__ on the phrases joined by spaces."""
        bs, dev = idx.shape[0], idx.device
        phrase = (self.start[idx][:, None] + chosen).clamp(max=self.ids.shape[0] - 1)
        lens = self.lens[phrase] * valid  # [bs, 3]
        offs = 1 + torch.cumsum(lens, 1) - lens
        pos = offs[:, :, None] + torch.arange(self.W, device=dev)[None, None]
        keep = (torch.arange(self.W, device=dev)[None, None] < lens[:, :, None]) & (pos < self.L - 1)
        out = torch.full((bs, self.L + 1), self.eos, dtype=torch.long, device=dev)
        out[:, 0] = self.bos
        out.scatter_(1, torch.where(keep, pos, self.L).flatten(1), self.ids[phrase].flatten(1))
        out = out[:, : self.L]
        # an emoji with no keywords gets its name
        cap_ids, cap_start = self.names
        return torch.where((lens.sum(1) == 0)[:, None], cap_ids[cap_start[idx]], out)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = F.mse_loss((a.clamp(-1, 1) + 1) / 2, (b + 1) / 2).item()
    return 10 * math.log10(1 / max(mse, 1e-10))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=str(HERE / ".work"))
    ap.add_argument("--init", default=None, help="folder with ae.pt/text_encoder.pt/unet.pt to continue from")
    ap.add_argument("--ae-frac", type=float, default=0.15)
    ap.add_argument("--batch", type=int, default=0, help="diffusion batch (default 512 on cuda, 32 on cpu)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compose", type=float, default=0.0,
                    help="share of captions composed fresh from 1-3 keywords (needs .work/keywords.json from keywords.py)")
    ap.add_argument("--ckpt-every", type=float, default=0, help="seconds between checkpoints (default 60 on cuda, 300 on cpu)")
    args = ap.parse_args()

    t_start = time.time()
    budget = args.minutes * 60 - 20  # leave time for the final save
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"torch {torch.__version__} device {dev}" + (f" ({torch.cuda.get_device_name(0)})" if cuda else ""), flush=True)

    # ---- data, on the device
    data = Path(args.data)
    npz = np.load(data / "dataset.npz")
    imgs = torch.from_numpy(npz["images"]).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(dev)
    n = imgs.shape[0]
    caps = json.loads((data / "captions.json").read_text())["captions"]
    tok = ClipTokenizer.load(data / "tokenizer")
    L = tok.max_length
    flat = [tok(c) for cs in caps for c in cs]
    cap_ids = torch.tensor(flat, dtype=torch.long, device=dev)
    cap_count = torch.tensor([len(cs) for cs in caps], device=dev)
    cap_start = torch.cumsum(cap_count, 0) - cap_count
    empty_ids = torch.tensor(tok(""), dtype=torch.long, device=dev)
    print(f"data: {n} images, {len(flat)} captions, context {L}, vocab {len(tok.encoder)} "
          f"({time.time() - t_start:.1f}s)", flush=True)

    log: dict = {"args": vars(args), "torch": torch.__version__, "device": str(dev),
                 "gpu": torch.cuda.get_device_name(0) if cuda else None, "images": n, "captions": len(flat),
                 "context_length": L, "vocab_size": len(tok.encoder), "name_caption_p": NAME_P, "caption_dropout": DROP_P}
    # the CPU trains in float32: no autocast context (a disabled one is only overhead)
    amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else contextlib.nullcontext
    init = Path(args.init) if args.init else None

    # ---- phase 1: autoencoder
    ae = AutoEncoder().to(dev)
    log["params"] = {"vae_encoder": count(ae.encoder), "vae_decoder": count(ae.decoder)}
    if init and (init / "ae.pt").exists():
        load_half(ae, init / "ae.pt")
        print("autoencoder: loaded from --init, not retrained", flush=True)
        log["ae"] = {"loaded_from": str(init)}
    else:
        ae_budget = budget * args.ae_frac
        bs = 256 if cuda else 32
        opt = torch.optim.AdamW(ae.parameters(), lr=2e-3, weight_decay=1e-4)
        step, t0, hist, print_due = 0, time.time(), [], Every(15)
        while time.time() - t0 < ae_budget:
            for g in opt.param_groups:
                g["lr"] = lr_at((time.time() - t0) / ae_budget, step, 2e-3, 100)
            x = imgs[torch.randint(0, n, (bs,), device=dev)]
            with amp():
                z = ae.encoder(x)
                y = ae.decoder(z + 0.05 * torch.randn_like(z))
            y = y.float()
            z = z.float()
            loss = F.l1_loss(y, x) + F.mse_loss(y, x) + 1e-4 * z.pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step % 50 == 0:
                hist.append((step, round(loss.item(), 5)))
            if print_due():
                print(f"ae step {step} loss {loss.item():.4f} ({step / (time.time() - t0):.1f} it/s)", flush=True)
        log["ae"] = {"steps": step, "batch": bs, "seconds": round(time.time() - t0, 1), "loss_curve": hist}
    ae.eval().requires_grad_(False)

    # latents, their scale, reconstruction PSNR and the latent->RGB preview fit
    with torch.no_grad():
        lat = torch.cat([ae.encoder(imgs[i:i + 256]) for i in range(0, n, 256)]).float()
        rec = torch.cat([ae.decoder(lat[i:i + 256]) for i in range(0, n, 256)]).float()
    std = lat.std().item()
    sf = 1.0 / std
    zs = lat * sf
    small = F.avg_pool2d(imgs, 4)  # [n,3,16,16], the same grid as the latent
    X = torch.cat([zs.permute(0, 2, 3, 1).reshape(-1, 4), torch.ones(n * 256, 1, device=dev)], 1).double().cpu()
    Y = small.permute(0, 2, 3, 1).reshape(-1, 3).double().cpu()
    W = torch.linalg.lstsq(X, Y).solution  # [5,3]
    prev_psnr = psnr((X @ W).float().reshape(n, 16, 16, 3).permute(0, 3, 1, 2), small.cpu())
    log["ae"].update({"psnr_db": round(psnr(rec, imgs), 2), "latent_mean": round(lat.mean().item(), 4),
                      "latent_std": round(std, 4), "latent_std_per_channel": [round(v, 4) for v in lat.std(dim=(0, 2, 3)).tolist()],
                      "scaling_factor": sf, "latent_rgb_factors": W[:4].tolist(), "latent_rgb_bias": W[4].tolist(),
                      "preview_psnr_db_16px": round(prev_psnr, 2)})
    print(f"ae: PSNR {log['ae']['psnr_db']} dB, latent std {std:.3f} -> scaling_factor {sf:.4f}, "
          f"preview fit PSNR {prev_psnr:.1f} dB", flush=True)
    save_atomic(half_state(ae), out / "ae.pt")
    save_atomic(log, out / "log.json")
    del ae, rec

    # ---- phase 2: text encoder + U-Net on the scaled latents
    te = TextEncoder(len(tok.encoder), L).to(dev)
    unet = UNet(ctx_dim=256).to(dev)
    if init and (init / "unet.pt").exists() and (init / "text_encoder.pt").exists():
        load_half(te, init / "text_encoder.pt")
        load_half(unet, init / "unet.pt")
        print("text encoder + unet: continuing from --init", flush=True)
    log["params"].update({"text_encoder": count(te), "unet": count(unet)})
    print(f"params: {log['params']}", flush=True)
    ema_te, ema_unet = Ema(te, 0.999), Ema(unet, 0.999)
    params = list(te.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ac = alphas_cumprod(dev)
    snr = ac / (1 - ac)
    weight = torch.clamp(snr, max=5.0) / snr  # min-SNR-5 weighting for epsilon prediction
    bs = args.batch or (512 if cuda else 32)
    t0 = time.time()
    d_budget = budget - (t0 - t_start)
    step, hist, acc, acc_n = 0, [], 0.0, 0
    print_due, ckpt_due = Every(15), Every(args.ckpt_every or (60 if cuda else 300))
    composer = Composer(data / "keywords.json", tok, npz, cap_ids, cap_start, dev) if args.compose > 0 else None
    if composer:
        log["compose"] = {"share": args.compose, "keywords_per_caption": Composer.K_PROBS, "pool_phrases": composer.phrases,
                          "held_out_pairs": composer.held}
        print(f"compose: {args.compose:.0%} of captions from 1-3 of {composer.phrases} keyword phrases, "
              f"{composer.held} held-out pairs never drawn together", flush=True)

    def checkpoint(final: bool = False) -> None:
        save_atomic(half_state(ema_te.model), out / "text_encoder.pt")
        save_atomic(half_state(ema_unet.model), out / "unet.pt")
        el = time.time() - t0
        log["diffusion"] = {"steps": step, "batch": bs, "seconds": round(el, 1), "steps_per_s": round(step / max(el, 1e-9), 3),
                            "lr": args.lr, "ema_decay": 0.999, "prediction_type": "epsilon", "loss_weighting": "min-snr-5",
                            "loss_curve": hist, "final": final}
        log["total_seconds"] = round(time.time() - t_start, 1)
        save_atomic(log, out / "log.json")

    while time.time() - t0 < d_budget:
        frac = (time.time() - t0) / d_budget
        for g in opt.param_groups:
            g["lr"] = lr_at(frac, step, args.lr, 500 if cuda else 50)
        idx = torch.randint(0, n, (bs,), device=dev)
        pick = torch.where(torch.rand(bs, device=dev) < NAME_P, torch.zeros_like(idx),
                           (torch.rand(bs, device=dev) * cap_count[idx]).long())
        ids = cap_ids[cap_start[idx] + pick]
        if composer:
            # name first (NAME_P), then composed keywords, then the fixed captions
            u = torch.rand(bs, device=dev)
            ids = torch.where(((u >= NAME_P) & (u < NAME_P + args.compose))[:, None], composer(idx), ids)
            ids = torch.where((u < NAME_P)[:, None], cap_ids[cap_start[idx]], ids)
        ids = torch.where((torch.rand(bs, device=dev) < DROP_P)[:, None], empty_ids[None], ids)
        x0 = zs[idx]
        t = torch.randint(0, T, (bs,), device=dev)
        noise = torch.randn_like(x0)
        a = ac[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        with amp():
            pred = unet(xt, t.float(), te(ids))
        loss = ((pred.float() - noise) ** 2).mean(dim=(1, 2, 3))
        loss = (loss * weight[t]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema_te.update(te, step)
        ema_unet.update(unet, step)
        step += 1
        acc += loss.item() if step % 10 == 0 else 0.0  # .item() syncs; sample it
        acc_n += 1 if step % 10 == 0 else 0
        if step % 200 == 0 and acc_n:
            hist.append((step, round(acc / acc_n, 5)))
            acc, acc_n = 0.0, 0
        if print_due():
            now = time.time()
            print(f"diffusion step {step} loss {loss.item():.4f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"({step / (now - t0):.2f} it/s, {now - t_start:.0f}s)", flush=True)
        if ckpt_due():
            checkpoint()
    checkpoint(final=True)
    print(f"done: {step} diffusion steps in {time.time() - t0:.0f}s, total {time.time() - t_start:.0f}s -> {out}", flush=True)


if __name__ == "__main__":
    main()
