"""Keyword pools for compositional captions (train.py --compose) and the held-out pairs they must avoid.

  /usr/bin/python3 training/keywords.py        -> training/.work/keywords.json

Per emoji (dataset.npz order): its emojilib keywords (without the name) and, for one-word keywords, up to two
WordNet relatives from the cached .work/wordnet.json. train.py joins 1-3 of them, drawn fresh every step, so
the text encoder sees many combinations instead of the six fixed pairs in captions.json.
Held out: every keyword pair of a "paraphrase" prompt in eval_prompts.json. A composed caption that contains
both words of a held-out pair is never made, for ANY emoji, so the evaluation stays on unseen pairs.
Needs prepare_data.py's outputs and node_modules/emojilib.
"""
from __future__ import annotations

import json
import re
import sys
from itertools import permutations
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import ClipTokenizer  # noqa: E402

LIB = HERE.parent / "node_modules" / "emojilib" / "dist" / "emoji-en-US.json"
WORK = HERE / ".work"
STOP = {"a", "an", "the", "of", "with", "and", "in", "on", "for", "to", "at", "by", "or", "face", "symbol", "sign"}


def main() -> None:
    codes = [str(c) for c in np.load(WORK / "dataset.npz")["codes"]]
    lib = json.loads(LIB.read_text())
    wn = json.loads((WORK / "wordnet.json").read_text())
    tok = ClipTokenizer.load(WORK / "tokenizer")
    kws: list[list[str]] = []
    pools: list[list[str]] = []
    for code in codes:
        ch = "".join(chr(int(x, 16)) for x in code.split("-"))
        kw = lib.get(ch) or lib.get(ch.replace("\ufe0f", "")) or lib.get(ch + "\ufe0f") or []
        # the same spelling make_eval_prompts.py used (no whitespace clean-up), so held-out pairs match
        keywords = [k for k in dict.fromkeys(k.replace("_", " ").lower() for k in kw[1:]) if k.strip()]
        pool = list(keywords)
        for k in keywords:
            if re.fullmatch(r"[a-z]+", k) and k not in STOP:
                pool += wn.get(k, [])[:2]
        kws.append(keywords)
        pools.append(list(dict.fromkeys(pool)))
    # held-out pairs: split each paraphrase prompt back into the two keywords it was made of
    held: list[list[str]] = []
    prompts = json.loads((HERE / "eval_prompts.json").read_text())["prompts"]
    for p in prompts:
        if p["kind"] != "paraphrase":
            continue
        ks = kws[codes.index(p["unified"])]
        pair = next(([a, b] for a, b in permutations(ks, 2) if f"{a} {b}" == p["prompt"]), None)
        if pair is None:
            raise SystemExit(f"cannot split paraphrase {p['prompt']!r} into two keywords of {p['unified']}")
        held.append(pair)
    # captions are composed from token ids, so joining with a space must tokenize as the concatenation
    for pool in pools[:200]:
        for a, b in zip(pool, pool[1:]):
            assert tok.encode_text(f"{a} {b}") == tok.encode_text(a) + tok.encode_text(b), (a, b)
    # per emoji, the pool index pairs never to draw together (a held-out pair of any emoji)
    forbid = [[[pool.index(a), pool.index(b)] for a, b in held if a in pool and b in pool] for pool in pools]
    out = {"codes": codes, "pools": pools, "held_out_pairs": held, "forbidden_index_pairs": forbid}
    (WORK / "keywords.json").write_text(json.dumps(out, indent=0))
    sizes = [len(p) for p in pools]
    print(f"{len(codes)} emoji, pool size mean {np.mean(sizes):.1f} (min {min(sizes)}, max {max(sizes)}), "
          f"{sum(s >= 2 for s in sizes)} with 2+; {len(held)} held-out pairs, "
          f"{sum(len(f) for f in forbid)} forbidden draws in {sum(1 for f in forbid if f)} pools -> {WORK / 'keywords.json'}")


if __name__ == "__main__":
    main()
