"""Latent consistency distillation of the U-Net for 4-step sampling (Luo et al. 2023, arXiv:2310.04378, Algorithm 1).

  /usr/bin/python3 training/distill_lcm.py --init training/.work/gen2 --minutes 30 --out training/.work/lcm

The teacher is the --init U-Net with classifier-free guidance at --guidance; the student starts as a copy of it and
learns the consistency function f(x_t, t) = c_skip(t) x_t + c_out(t) x0(x_t, t) that maps every point of the teacher's
DDIM trajectory (50 timesteps 19, 39, ..., 999, as the engine's `lcm` sampler and diffusers' LCMScheduler read
them) to the same clean latent: f_student(x_t, t) ~ f_ema(x_s, s), where x_s is one guided DDIM step of the teacher
from t to s = t - 20. The guidance is baked in (the plain U-Net layout, no `timestep_cond`), so the exported model
runs without a negative batch: model_index.json's hint says 4 steps, guidance 1, sampler lcm.

Writes unet.pt (the EMA target network's weights, fp16, as train.py saves), text_encoder.pt and ae.pt (the init's,
unchanged) and log.json, again every checkpoint interval; --resume continues from --out.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import ClipTokenizer  # noqa: E402
from models import AutoEncoder, TextEncoder, UNet  # noqa: E402
from train import NAME_P, Ema, Every, alphas_cumprod, half_state, load_half, lr_at, save_atomic  # noqa: E402

T = 1000
ORIGINAL_STEPS = 50  # LCMScheduler's original_inference_steps: the skip k = 1000 / 50 = 20
SIGMA_DATA, TIMESTEP_SCALING = 0.5, 10.0  # diffusers' LCMScheduler defaults; the engine's lcm sampler reads the same
HUBER_C = 0.001


def boundary(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """c_skip, c_out with f(x, 0) = x, as LCMScheduler.get_scalings_for_boundary_condition_discrete."""
    s = t.float() * TIMESTEP_SCALING
    return SIGMA_DATA ** 2 / (s ** 2 + SIGMA_DATA ** 2), s / (s ** 2 + SIGMA_DATA ** 2).sqrt()


def consistency(unet: UNet, x: torch.Tensor, t: torch.Tensor, ctx: torch.Tensor, ac: torch.Tensor) -> torch.Tensor:
    a = ac[t][:, None, None, None]
    x0 = (x - (1 - a).sqrt() * unet(x, t.float(), ctx)) / a.sqrt()
    c_skip, c_out = boundary(t)
    return c_skip[:, None, None, None] * x + c_out[:, None, None, None] * x0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--init", required=True, help="the teacher: ae.pt, text_encoder.pt, unet.pt, log.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=str(HERE / ".work"))
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--ema", type=float, default=0.95, help="decay of the target network (LCM's 0.95)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true", help="start the student from --out's unet.pt")
    ap.add_argument("--ckpt-every", type=float, default=300)
    args = ap.parse_args()
    t_start = time.time()
    dev = torch.device(args.device)
    if dev.type == "cpu":
        torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    torch.manual_seed(args.seed)
    init, out, data = Path(args.init), Path(args.out), Path(args.data)
    out.mkdir(parents=True, exist_ok=True)

    log = json.loads((init / "log.json").read_text())
    tok = ClipTokenizer.load(data / "tokenizer")
    if log["vocab_size"] != len(tok.encoder):
        raise SystemExit(f"{init} was trained with another tokenizer than {data / 'tokenizer'}")
    sf = log["ae"]["scaling_factor"]
    ae = load_half(AutoEncoder(), init / "ae.pt").to(dev).eval().requires_grad_(False)
    te = load_half(TextEncoder(len(tok.encoder), tok.max_length), init / "text_encoder.pt").to(dev).eval().requires_grad_(False)
    teacher = load_half(UNet(ctx_dim=256), init / "unet.pt").to(dev).eval().requires_grad_(False)
    student = load_half(UNet(ctx_dim=256), (out if args.resume else init) / "unet.pt").to(dev).train()
    target = Ema(student, args.ema)

    npz = np.load(data / "dataset.npz")
    imgs = torch.from_numpy(npz["images"]).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(dev)
    with torch.no_grad():
        zs = torch.cat([ae.encoder(imgs[i:i + 256]) for i in range(0, len(imgs), 256)]) * sf
    caps = json.loads((data / "captions.json").read_text())["captions"]
    cap_ids = torch.tensor([tok(c) for cs in caps for c in cs], dtype=torch.long, device=dev)
    cap_count = torch.tensor([len(cs) for cs in caps], device=dev)
    cap_start = torch.cumsum(cap_count, 0) - cap_count
    empty = torch.tensor(tok(""), dtype=torch.long, device=dev)
    n = len(zs)
    ac = alphas_cumprod(dev)
    k = T // ORIGINAL_STEPS
    schedule = torch.arange(1, ORIGINAL_STEPS + 1, device=dev) * k - 1  # 19, 39, ..., 999
    opt = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=0.0)
    print(f"lcm distillation: {n} drawings, guidance {args.guidance}, batch {args.batch}, skip {k}", flush=True)

    if init.resolve() != out.resolve():
        for name in ("ae.pt", "text_encoder.pt"):  # frozen: the init's, copied once
            shutil.copyfile(init / name, out / name)

    def checkpoint(final: bool) -> None:
        save_atomic(half_state(target.model), out / "unet.pt")
        el = time.time() - t0
        log["lcm"] = {"steps": step, "batch": args.batch, "seconds": round(el, 1), "guidance": args.guidance,
                      "ema": args.ema, "lr": args.lr, "original_inference_steps": ORIGINAL_STEPS, "loss_curve": hist,
                      "final": final, "resumed": args.resume}
        save_atomic(log, out / "log.json")

    budget = args.minutes * 60 - 20
    t0, step, hist, acc = time.time(), 0, [], []
    print_due, ckpt_due = Every(15), Every(args.ckpt_every)
    while time.time() - t0 < budget:
        for g in opt.param_groups:
            g["lr"] = lr_at((time.time() - t0) / budget, step, args.lr, 20)
        bs = args.batch
        idx = torch.randint(0, n, (bs,), device=dev)
        pick = torch.where(torch.rand(bs, device=dev) < NAME_P, torch.zeros_like(idx),
                           (torch.rand(bs, device=dev) * cap_count[idx]).long())
        j = torch.randint(0, ORIGINAL_STEPS, (bs,), device=dev)
        t, s = schedule[j], (schedule[j] - k).clamp(min=0)
        x0 = zs[idx]
        a_t = ac[t][:, None, None, None]
        x_t = a_t.sqrt() * x0 + (1 - a_t).sqrt() * torch.randn_like(x0)
        with torch.no_grad():
            ctx = te(cap_ids[cap_start[idx] + pick])
            uctx = te(empty[None]).expand_as(ctx)
            eps = teacher(torch.cat([x_t, x_t]), torch.cat([t, t]).float(), torch.cat([uctx, ctx]))
            eps_u, eps_c = eps.chunk(2)
            eps_w = eps_u + args.guidance * (eps_c - eps_u)
            x0_w = (x_t - (1 - a_t).sqrt() * eps_w) / a_t.sqrt()
            a_s = ac[s][:, None, None, None]
            x_s = a_s.sqrt() * x0_w + (1 - a_s).sqrt() * eps_w  # one guided DDIM step, t -> s
            f_target = consistency(target.model, x_s, s, ctx, ac)
        f_student = consistency(student, x_t, t, ctx, ac)
        loss = (((f_student - f_target) ** 2 + HUBER_C ** 2).sqrt() - HUBER_C).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        target.update(student, 10 ** 9)  # a fixed decay from the first step, as LCM's target network
        step += 1
        acc.append(loss.item())
        if step % 50 == 0:
            hist.append((step, round(float(np.mean(acc)), 5)))
            acc = []
        if print_due():
            print(f"lcm step {step} loss {loss.item():.4f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"({step / (time.time() - t0):.2f} it/s)", flush=True)
        if ckpt_due():
            checkpoint(False)
    checkpoint(True)
    print(f"done: {step} steps in {time.time() - t_start:.0f}s -> {out}", flush=True)


if __name__ == "__main__":
    main()
