"""Caption distillation: teach the text encoder to say "this emoji" for keyword captions, on CPU in minutes.

  /usr/bin/python3 training/distill_captions.py --minutes 20 --out training/.work/distill
  /usr/bin/python3 training/distill_captions.py --check-heldout          (sampler check only, no training)
  /usr/bin/python3 training/distill_captions.py --text-eval training/.work/distill/text_encoder.pt

The U-Net and the autoencoder stay frozen and are never run. Teacher: a frozen copy of the shipped text encoder
(--init, default .work/gpu) on the emoji's NAME, the caption the U-Net draws best (names top-5 ~96 %). Student: the
text encoder, initialised from the same weights, on captions composed fresh every step from 1-3 of that emoji's
keyword phrases (train.py's Composer: emojilib keywords + WordNet relatives; the evaluation's 100 held-out pairs
are never drawn together, for any emoji) and on the fixed captions of captions.json (those containing both words
of a held-out pair dropped). Loss: MSE between student(caption) and teacher(name) over all L=32 positions, since
the U-Net's cross-attention reads every position, end-token pads included. Two anchor terms keep what works:
student(name) ~ teacher(name) and student("") ~ teacher("") (the unconditional branch of classifier-free guidance).

Ambiguity: a keyword shared by several emoji is distilled towards the name of the emoji it was drawn from, so its
embedding settles at the mean of those names (what MSE does with one input and several targets); --specific
weighs each composed caption by 1/sqrt(number of emoji whose pools hold all its phrases) so unambiguous ones count more.
MSE alone leaves a two-keyword caption about one name-gap from its emoji's name, a blend of several names that the U-Net
draws badly; --contrast adds a cross-entropy over distances to all 1,631 teacher names, its target spread evenly over the
emoji whose pools hold every phrase of the caption (the owner alone for fixed captions), so the caption is pulled
towards the emoji it can mean and pushed from the rest.

Writes to --out (again every --ckpt-every seconds): text_encoder.pt (fp16 state dict), ae.pt and unet.pt copied
unchanged from --init, and log.json (the --init log plus a "distill" section), so export.py takes the folder as is.
"""
from __future__ import annotations

import argparse
import copy
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
from models import TextEncoder  # noqa: E402
from train import Composer, Every, half_state, load_half, save_atomic  # noqa: E402


def contains_held_out(caption: str, held: list[list[str]]) -> bool:
    """True when a caption has both phrases of some held-out pair as whole-word runs."""
    padded = f" {' '.join(caption.split())} "
    return any(f" {a} " in padded and f" {b} " in padded for a, b in held)


class Sampler:
    """Batches of (caption ids, index of the emoji each was drawn from, weight); composed or fixed captions."""

    def __init__(self, data: Path, tok: ClipTokenizer, npz, fixed_share: float):
        caps = json.loads((data / "captions.json").read_text())["captions"]
        kw = json.loads((data / "keywords.json").read_text())
        self.held = kw["held_out_pairs"]
        self.pools = kw["pools"]
        self.n = len(caps)
        self.names = torch.tensor([tok(cs[0]) for cs in caps], dtype=torch.long)
        self.empty = torch.tensor(tok(""), dtype=torch.long)
        # fixed captions other than the name, minus any that hold a held-out pair
        fixed, owner, dropped = [], [], 0
        for i, cs in enumerate(caps):
            for c in cs[1:]:
                if contains_held_out(c, self.held):
                    dropped += 1
                    continue
                fixed.append(c)
                owner.append(i)
        self.fixed_text = fixed
        self.fixed_ids = torch.tensor([tok(c) for c in fixed], dtype=torch.long)
        self.fixed_owner = torch.tensor(owner, dtype=torch.long)
        self.fixed_dropped = dropped
        self.fixed_share = fixed_share
        cap_count = torch.tensor([len(cs) for cs in caps])
        cap_ids = torch.tensor([tok(c) for cs in caps for c in cs], dtype=torch.long)
        self.composer = Composer(data / "keywords.json", tok, npz, cap_ids, torch.cumsum(cap_count, 0) - cap_count, "cpu")
        # which emoji hold each phrase: the emoji a composed caption can mean (--specific, --contrast)
        self.holders: dict[str, set[int]] = {}
        for i, pool in enumerate(self.pools):
            for p in pool:
                self.holders.setdefault(p, set()).add(i)

    def phrases(self, idx: torch.Tensor, chosen: torch.Tensor, valid: torch.Tensor) -> list[list[str]]:
        return [[self.pools[int(i)][int(c)] for c, v in zip(ch, va) if v] for i, ch, va in zip(idx, chosen, valid)]

    def meanings(self, owner: int, phrases: list[str]) -> list[int]:
        """The emoji whose pools hold every phrase of a composed caption; the owner alone when it has none."""
        return sorted(set.intersection(*(self.holders[p] for p in phrases))) if phrases else [owner]

    def targets(self, info: dict) -> torch.Tensor:
        """Soft targets over all emoji for one batch: uniform over the meanings of each composed caption,
        one-hot on the owner for fixed captions."""
        rows = info["meanings"]
        t = torch.zeros(len(rows) + len(info["fixed"]), self.n)
        for r, ids in enumerate(rows):
            t[r, ids] = 1.0 / len(ids)
        t[torch.arange(len(rows), len(t)), self.fixed_owner[info["fixed"]]] = 1.0
        return t

    def batch(self, bs: int, specific: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        n_fixed = int(round(bs * self.fixed_share))
        idx = torch.randint(0, self.n, (bs - n_fixed,))
        chosen, valid = self.composer.draw(idx)
        ids_c = self.composer.join(idx, chosen, valid)
        meanings = [self.meanings(i, ph) for i, ph in zip(idx.tolist(), self.phrases(idx, chosen, valid))]
        info = {"idx": idx, "chosen": chosen, "valid": valid, "meanings": meanings}
        w_c = torch.ones(len(idx))
        if specific:
            w_c = torch.tensor([1.0 / math.sqrt(len(m)) for m in meanings])
            w_c = w_c / w_c.mean()
        f = torch.randint(0, len(self.fixed_owner), (n_fixed,))
        info["fixed"] = f
        ids = torch.cat([ids_c, self.fixed_ids[f]])
        owner = torch.cat([idx, self.fixed_owner[f]])
        return ids, owner, torch.cat([w_c, torch.ones(n_fixed)]), info


def name_gaps(flat_names: torch.Tensor) -> torch.Tensor:
    """Each name embedding's L2 distance to its nearest other name: the unit distances are measured in."""
    return torch.cdist(flat_names, flat_names).fill_diagonal_(float("inf")).min(1).values


def check_heldout(sampler: Sampler, batches: int, bs: int) -> None:
    """Draw like training does and assert no caption carries a held-out pair (by phrase, for every emoji)."""
    held = sampler.held
    pairs = {frozenset(p) for p in held}
    rows = 0
    for _ in range(batches):
        _, _, _, info = sampler.batch(bs)
        for ph in sampler.phrases(info["idx"], info["chosen"], info["valid"]):
            s = set(ph)
            assert not any(p <= s for p in pairs), f"held-out pair drawn together: {ph}"
            rows += 1
        for f in info["fixed"].tolist():
            assert not contains_held_out(sampler.fixed_text[f], held), sampler.fixed_text[f]
            rows += 1
    # and the eval prompts themselves never occur among the fixed captions
    prompts = json.loads((HERE / "eval_prompts.json").read_text())["prompts"]
    para = {p["prompt"] for p in prompts if p["kind"] == "paraphrase"}
    assert not para & set(sampler.fixed_text), para & set(sampler.fixed_text)
    print(f"ok: {rows} training captions drawn ({batches} batches of {bs}), none holds any of the {len(held)} held-out "
          f"pairs; {sampler.fixed_dropped} fixed captions dropped for holding one; no paraphrase prompt is a fixed caption")


@torch.no_grad()
def text_eval(paths: list[str], init: Path, tok: ClipTokenizer, sampler: Sampler) -> None:
    """Text-space check on eval_prompts.json: rank of the intended emoji's teacher(name) among all 1,631 by L2 to
    encoder(prompt), and that distance relative to the name's nearest other name (the U-Net draws the emoji only when
    the prompt's embedding lands near its name). Measurement only; nothing here feeds training."""
    def load(path: Path) -> TextEncoder:
        return load_half(TextEncoder(len(tok.encoder), tok.max_length), path).eval()
    t_names = load(init / "text_encoder.pt")(sampler.names).flatten(1)
    dn = name_gaps(t_names)
    codes = json.loads((HERE / ".work" / "captions.json").read_text())["codes"]
    prompts = json.loads((HERE / "eval_prompts.json").read_text())["prompts"]
    # composed training captions that can mean one emoji only: how well the encoder fits what it was taught
    torch.manual_seed(0)
    ids, owner, _, info = sampler.batch(int(400 / (1 - sampler.fixed_share)))
    composed = len(info["idx"])
    single = (sampler.targets(info)[:composed].max(1).values == 1).nonzero()[:, 0]
    ids, owner = ids[single], owner[single]
    for path in [str(init / "text_encoder.pt")] + paths:
        te = load(Path(path))
        d = torch.cdist(te(ids).flatten(1), t_names)
        own = d.gather(1, owner[:, None])
        row = [f"{len(single)} one-emoji training captions top-5 {((d < own).sum(1) < 5).float().mean():.0%} "
               f"median distance/name gap {(own[:, 0] / dn[owner]).median():.2f}"]
        for kind in ("name", "paraphrase"):
            ps = [p for p in prompts if p["kind"] == kind]
            tgt = torch.tensor([codes.index(p["unified"]) for p in ps])
            d = torch.cdist(te(torch.tensor([tok(p["prompt"]) for p in ps])).flatten(1), t_names)
            own = d.gather(1, tgt[:, None])
            rank = (d < own).sum(1)
            rel = (own[:, 0] / dn[tgt]).median().item()
            row.append(f"{kind} top-1 {(rank == 0).float().mean():.0%} top-5 {(rank < 5).float().mean():.0%} "
                       f"median distance/name gap {rel:.2f}")
        print(f"{path}: " + "; ".join(row))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20, help="wall-clock budget (cosine learning-rate decay over it)")
    ap.add_argument("--out", default=str(HERE / ".work" / "distill"))
    ap.add_argument("--init", default=str(HERE / ".work" / "gpu"), help="checkpoint folder: teacher and starting point")
    ap.add_argument("--student", default=None, help="text_encoder.pt to start the student from (continue a distillation); default --init's")
    ap.add_argument("--data", default=str(HERE / ".work"))
    ap.add_argument("--batch", type=int, default=96, help="distilled captions per step")
    ap.add_argument("--names", type=int, default=32, help="name captions per step (anchor: student(name) ~ teacher(name))")
    ap.add_argument("--fixed-share", type=float, default=0.25, help="share of the distilled captions from captions.json")
    ap.add_argument("--anchor", type=float, default=1.0, help="weight of the name and empty-caption anchors")
    ap.add_argument("--specific", action="store_true", help="weigh composed captions by 1/sqrt(emoji sharing their phrases)")
    ap.add_argument("--contrast", type=float, default=0.0, help="weight of the cross-entropy over distances to all names")
    ap.add_argument("--temperature", type=float, default=0.25,
                    help="of that cross-entropy, in units of the median squared gap between a name and its nearest other name")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ckpt-every", type=float, default=120)
    ap.add_argument("--check-heldout", action="store_true", help="only check the caption sampler against the held-out pairs")
    ap.add_argument("--text-eval", nargs="+", default=None, metavar="TEXT_ENCODER_PT",
                    help="only print text-space retrieval of the eval prompts for these text encoders (and --init's)")
    args = ap.parse_args()

    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    torch.manual_seed(args.seed)
    data, init, out = Path(args.data), Path(args.init), Path(args.out)
    tok = ClipTokenizer.load(data / "tokenizer")
    npz = np.load(data / "dataset.npz")
    sampler = Sampler(data, tok, npz, args.fixed_share)
    if args.check_heldout:
        check_heldout(sampler, 300, args.batch)
        return
    if args.text_eval:
        text_eval(args.text_eval, init, tok, sampler)
        return

    t_start = time.time()
    budget = args.minutes * 60 - 10
    log = json.loads((init / "log.json").read_text())
    student = TextEncoder(len(tok.encoder), tok.max_length)
    load_half(student, init / "text_encoder.pt")
    teacher = copy.deepcopy(student).eval().requires_grad_(False)
    if args.student:
        load_half(student, args.student)
    with torch.no_grad():  # teacher(name) for every emoji and teacher(""), computed once
        t_names = torch.cat([teacher(sampler.names[i:i + 256]) for i in range(0, sampler.n, 256)])
        t_empty = teacher(sampler.empty[None])
        flat_names = t_names.flatten(1)
        gap2 = name_gaps(flat_names).median() ** 2
    out.mkdir(parents=True, exist_ok=True)
    for f in ("ae.pt", "unet.pt"):
        shutil.copyfile(init / f, out / f)
    student.train()
    opt = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=0.0, betas=(0.9, 0.99))
    print(f"distill: {sampler.n} emoji, {len(sampler.fixed_text)} fixed captions ({sampler.fixed_dropped} dropped for a held-out "
          f"pair), {sampler.composer.phrases} keyword phrases, {len(sampler.held)} held-out pairs; batch {args.batch} + "
          f"{args.names} names + empty ({time.time() - t_start:.1f}s)", flush=True)

    @torch.no_grad()
    def name_retrieval() -> float:
        """Share of emoji whose student(name) is nearest to its own teacher(name): a cheap check that names survive."""
        student.eval()
        s = torch.cat([student(sampler.names[i:i + 256]) for i in range(0, sampler.n, 256)]).flatten(1)
        student.train()
        d = torch.cdist(s, t_names.flatten(1))
        return (d.argmin(1) == torch.arange(sampler.n)).float().mean().item()

    hist: list = []
    step, t0, print_due, ckpt_due = 0, time.time(), Every(30), Every(args.ckpt_every)

    def checkpoint(final: bool = False) -> None:
        save_atomic(half_state(student), out / "text_encoder.pt")
        el = time.time() - t0
        log["distill"] = {"init": str(init), "student": args.student, "steps": step, "seconds": round(el, 1), "batch": args.batch, "names": args.names,
                          "fixed_share": args.fixed_share, "anchor": args.anchor, "specific": args.specific,
                          "contrast": args.contrast, "temperature": args.temperature, "lr": args.lr,
                          "seed": args.seed, "loss_curve": hist, "name_retrieval": round(name_retrieval(), 4), "final": final,
                          "held_out_pairs": len(sampler.held), "fixed_captions_dropped": sampler.fixed_dropped}
        save_atomic(log, out / "log.json")

    acc = [0.0, 0.0, 0.0, 0.0]
    while time.time() - t0 < budget:
        frac = min(1.0, (time.time() - t0) / budget)
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 20) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        ids, owner, w, info = sampler.batch(args.batch, args.specific)
        nm = torch.randint(0, sampler.n, (args.names,))
        s = student(torch.cat([ids, sampler.names[nm], sampler.empty[None]]))
        b = ids.shape[0]
        l_cap = ((s[:b] - t_names[owner]) ** 2).mean(dim=(1, 2))
        l_cap = (l_cap * w).mean()
        l_name = F.mse_loss(s[b:-1], t_names[nm])
        l_empty = F.mse_loss(s[-1:], t_empty)
        l_ce = torch.zeros(())
        if args.contrast:
            logits = -torch.cdist(s[:b].flatten(1), flat_names) ** 2 / (args.temperature * gap2)
            l_ce = -(sampler.targets(info) * F.log_softmax(logits, 1)).sum(1).mean()
        loss = l_cap + args.anchor * (l_name + l_empty) + args.contrast * l_ce
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        step += 1
        for k, v in enumerate((l_cap, l_name, l_empty, l_ce)):
            acc[k] += v.item()
        if step % 25 == 0:
            hist.append((step, *(round(a / 25, 5) for a in acc)))
            acc = [0.0, 0.0, 0.0, 0.0]
        if hist and print_due():
            print(f"step {step} caption {hist[-1][1]:.4f} name {hist[-1][2]:.5f} empty {hist[-1][3]:.5f} ce {hist[-1][4]:.3f} "
                  f"lr {opt.param_groups[0]['lr']:.1e} ({step / (time.time() - t0):.2f} it/s)", flush=True)
        if ckpt_due():
            checkpoint()
    checkpoint(final=True)
    print(f"done: {step} steps in {time.time() - t0:.0f}s, name retrieval {log['distill']['name_retrieval']:.3f} -> {out}", flush=True)


if __name__ == "__main__":
    main()
