"""Write the fixed evaluation prompt list training/eval_prompts.json (run once; the file is committed).

Two kinds, each with the intended emoji's unified code:
- "name": the emoji's CLDR name (its main training caption), 100 emoji spread evenly over the sort order.
- "paraphrase": two emojilib keywords of the emoji that never appear together as a training caption,
  chosen as the pair shared by the fewest other emoji (ties: first), 100 other emoji.
Needs training/.work/captions.json and dataset.npz from prepare_data.py.
"""
from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LIB = HERE.parent / "node_modules" / "emojilib" / "dist" / "emoji-en-US.json"


def main() -> None:
    work = HERE / ".work"
    caps = json.loads((work / "captions.json").read_text())
    codes, captions = caps["codes"], caps["captions"]
    names = [str(x) for x in np.load(work / "dataset.npz")["names"]]
    lib = json.loads(LIB.read_text())
    kw: list[set[str]] = []
    for code in codes:
        ch = "".join(chr(int(x, 16)) for x in code.split("-"))
        k = lib.get(ch) or lib.get(ch.replace("\ufe0f", "")) or []
        kw.append({w.replace("_", " ").lower() for w in k[1:]})
    n = len(codes)
    name_idx = list(range(0, n, n // 100))[:100]
    prompts = [{"kind": "name", "prompt": names[i], "unified": codes[i]} for i in name_idx]
    taken = set(name_idx)
    para = []
    for i in range(n // 200, n, max(1, n // 150)):
        if i in taken or len(kw[i]) < 2:
            continue
        trained = set(captions[i])
        best = None
        for a, b in combinations(sorted(kw[i]), 2):
            if f"{a} {b}" in trained or f"{b} {a}" in trained or a in names[i] or b in names[i]:
                continue
            shared = sum(1 for j in range(n) if a in kw[j] and b in kw[j])
            if best is None or shared < best[0]:
                best = (shared, f"{a} {b}")
        if best:
            para.append({"kind": "paraphrase", "prompt": best[1], "unified": codes[i], "name": names[i], "emoji_sharing_both_keywords": best[0]})
        if len(para) == 100:
            break
    out = {"about": __doc__.strip().split("\n")[0], "prompts": prompts + para}
    (HERE / "eval_prompts.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(prompts)} names, {len(para)} paraphrases")


if __name__ == "__main__":
    main()
