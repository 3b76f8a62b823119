"""Checks train.py's Composer on CPU: composed ids equal the tokenizer's ids of the phrases joined by spaces,
1-3 distinct phrases per caption, and no held-out evaluation pair is ever drawn together.

  /usr/bin/python3 training/test_compose.py       (needs .work/ from prepare_data.py and keywords.py)
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import ClipTokenizer  # noqa: E402
from train import Composer  # noqa: E402


def main() -> None:
    work = HERE / ".work"
    tok = ClipTokenizer.load(work / "tokenizer")
    npz = np.load(work / "dataset.npz")
    caps = json.loads((work / "captions.json").read_text())["captions"]
    kw = json.loads((work / "keywords.json").read_text())
    cap_ids = torch.tensor([tok(c) for cs in caps for c in cs])
    count = torch.tensor([len(cs) for cs in caps])
    cap_start = torch.cumsum(count, 0) - count
    comp = Composer(work / "keywords.json", tok, npz, cap_ids, cap_start, "cpu")
    torch.manual_seed(0)
    n = len(kw["pools"])
    # every emoji many times, and the ones with forbidden pairs far more often
    forb = [i for i, f in enumerate(kw["forbidden_index_pairs"]) if f]
    idx = torch.cat([torch.arange(n).repeat(8), torch.tensor(forb).repeat(400)])
    chosen, valid = comp.draw(idx)
    ids = comp.join(idx, chosen, valid)
    ks = Counter()
    checked = 0
    for r in range(len(idx)):
        i = int(idx[r])
        pool = kw["pools"][i]
        used = [int(c) for c, v in zip(chosen[r], valid[r]) if v]
        ks[len(used)] += 1
        assert len(set(used)) == len(used), (i, used)
        for a, b in kw["forbidden_index_pairs"][i]:
            assert not (a in used and b in used), f"held-out pair {pool[a]!r} + {pool[b]!r} drawn for {kw['codes'][i]}"
        if not pool:
            assert ids[r].tolist() == cap_ids[cap_start[i]].tolist(), "an emoji without keywords gets its name"
            continue
        assert 1 <= len(used) <= 3, used
        if any(len(tok.encode_text(pool[u])) > Composer.MAX_PHRASE for u in used):
            continue
        text = " ".join(pool[u] for u in used)
        assert ids[r].tolist() == tok(text), (text, ids[r].tolist(), tok(text))
        checked += 1
    print(f"ok: {len(idx)} composed captions, {checked} compared with the tokenizer, phrases per caption {dict(sorted(ks.items()))}, "
          f"{len(forb)} emoji with held-out pairs drawn 400 times each, none drawn together")


if __name__ == "__main__":
    main()
