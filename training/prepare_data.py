"""Build the training set: Noto emoji images + captions, and the BPE tokenizer learned from the captions.

Reads node_modules/emoji-datasource-google (images, Unicode names, short names, categories) and
node_modules/emojilib (CLDR name + keywords, keyed by the emoji character). Writes into training/.work/:
  dataset.npz   images uint8 [N,64,64,3] on white, unified codes, names
  captions.json per emoji a list of captions; index 0 is the main name
  tokenizer/    CLIP-format vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json
  wordnet.json  cache of WordNet look-ups (the `wn` command), reused on the next run

Kept/dropped (deliberate):
- dropped: skin-tone variants (emoji.json nests them; only the default yellow figure is kept), the five
  skin-tone swatches and other 'Component' entries, keycaps (a digit in a grey box: text, not a picture),
  country and subdivision flags (259 + 3 near-identical rectangles named only by country; a model this
  small cannot learn them and they would take 16 % of the updates). The 8 non-country flags
  (chequered, rainbow, pirate, white, ...) are kept.
- kept: letter-in-a-box symbols (A button, SOS, ...), which are pictures with their own colours.

Usage: /usr/bin/python3 training/prepare_data.py [--merges 4000] [--context 32]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import ClipTokenizer, learn_bpe, save_tokenizer  # noqa: E402

DS = ROOT / "node_modules" / "emoji-datasource-google"
LIB = ROOT / "node_modules" / "emojilib" / "dist" / "emoji-en-US.json"
WORK = HERE / ".work"
STOP = {"a", "an", "the", "of", "with", "and", "in", "on", "for", "to", "at", "by", "or", "face", "symbol", "sign"}


def unified_to_char(u: str) -> str:
    return "".join(chr(int(x, 16)) for x in u.split("-"))


def keep(e: dict) -> bool:
    if e["category"] == "Component":
        return False
    if e["subcategory"] in ("keycap", "country-flag", "subdivision-flag"):
        return False
    return bool(e.get("has_img_google"))


def load_image(name: str) -> np.ndarray:
    im = Image.open(DS / "img" / "google" / "64" / name).convert("RGBA")
    if im.size != (64, 64):
        im = im.resize((64, 64), Image.LANCZOS)
    bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(bg, im).convert("RGB"), dtype=np.uint8)


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


class WordNet:
    """Synonyms and first hypernym from the `wn` command, cached on disk (one look-up per word, once)."""

    def __init__(self, path: Path):
        self.path = path
        self.cache: dict[str, list[str]] = json.loads(path.read_text()) if path.exists() else {}
        self.dirty = False

    def _run(self, word: str, opt: str) -> str:
        try:
            return subprocess.run(["wn", word, opt], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ""

    def related(self, word: str) -> list[str]:
        if word in self.cache:
            return self.cache[word]
        out: list[str] = []
        # nouns: synonyms of the first two senses; adjectives: synonyms and similar words of sense 1
        for opt, senses in (("-synsn", 2), ("-synsa", 1)):
            text = self._run(word, opt)
            for block in re.split(r"\nSense \d+\n", text)[1 : senses + 1]:
                lines = [l.strip() for l in block.strip().split("\n") if l.strip()]
                if not lines:
                    continue
                out += [s.strip() for s in re.sub(r"\(.*?\)", "", lines[0]).split(",")]
                if opt == "-synsa":
                    out += [re.sub(r"\(.*?\)", "", l[3:]).split(",")[0].strip() for l in lines[1:4] if l.startswith("=>")]
        seen, res = {word}, []
        for s in out:
            s = s.replace("_", " ").lower()
            if s and s not in seen and re.fullmatch(r"[a-z][a-z \-']*", s):
                seen.add(s)
                res.append(s)
        self.cache[word] = res[:4]
        self.dirty = True
        return self.cache[word]

    def save(self) -> None:
        if self.dirty:
            self.path.write_text(json.dumps(self.cache, indent=0, sort_keys=True))


def build_captions(e: dict, kw: list[str], wn: WordNet, rng: random.Random) -> tuple[str, list[str]]:
    uname = e["name"].lower()
    main = kw[0].replace("_", " ") if kw else uname
    keywords = [k.replace("_", " ").lower() for k in kw[1:]]
    caps = [main, uname] + [s.replace("_", " ").replace("-", " ") for s in e["short_names"]] + keywords
    # a few keyword pairs, so two-word descriptions are seen (the eval holds other pairs out)
    pairs = [(a, b) for i, a in enumerate(keywords) for b in keywords[i + 1 :]]
    rng.shuffle(pairs)
    caps += [f"{a} {b}" for a, b in pairs[:6]]
    caps += [f"{main} {k}" for k in rng.sample(keywords, min(2, len(keywords)))]
    # WordNet widening: the name with one word swapped for a synonym, and synonyms of keywords
    for w in [w for w in words_of(main) if w not in STOP and len(w) > 2][:3]:
        for s in wn.related(w)[:2]:
            caps.append(re.sub(rf"\b{w}\b", s, main))
    for k in keywords[:8]:
        if re.fullmatch(r"[a-z]+", k) and k not in STOP:
            caps += wn.related(k)[:2]
    out, seen = [], set()
    for c in caps:
        c = re.sub(r"\s+", " ", c).strip()
        if c and c not in seen:
            seen.add(c)
            out.append(c)
    return main, out[:48]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--merges", type=int, default=4000)
    ap.add_argument("--context", type=int, default=32)
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    emoji = sorted(json.loads((DS / "emoji.json").read_text()), key=lambda e: e["sort_order"])
    lib = json.loads(LIB.read_text())
    wn = WordNet(WORK / "wordnet.json")
    rng = random.Random(0)
    images, codes, names, captions, categories = [], [], [], [], []
    for e in emoji:
        if not keep(e):
            continue
        ch = unified_to_char(e["unified"])
        kw = lib.get(ch) or lib.get(ch.replace("\ufe0f", "")) or lib.get(ch + "\ufe0f") or []
        main_name, caps = build_captions(e, kw, wn, rng)
        images.append(load_image(e["image"]))
        codes.append(e["unified"])
        names.append(main_name)
        captions.append(caps)
        categories.append(e["category"])
    wn.save()
    imgs = np.stack(images)
    np.savez_compressed(WORK / "dataset.npz", images=imgs, codes=np.array(codes), names=np.array(names),
                        categories=np.array(categories))
    (WORK / "captions.json").write_text(json.dumps({"codes": codes, "captions": captions}, indent=0))
    corpus = [c for caps in captions for c in caps]
    vocab, merges = learn_bpe(corpus, args.merges)
    save_tokenizer(WORK / "tokenizer", vocab, merges, args.context)
    tok = ClipTokenizer.load(WORK / "tokenizer")
    lens = [len(tok.encode_text(c)) for c in corpus]
    print(f"emoji kept {len(codes)} of {len(emoji)}; captions {len(corpus)} "
          f"({len(corpus) / len(codes):.1f}/emoji); words {len(set(w for c in corpus for w in words_of(c)))}; "
          f"vocab {len(vocab)} ({len(merges)} merges); tokens/caption mean {np.mean(lens):.1f} max {max(lens)}; "
          f"dataset {(WORK / 'dataset.npz').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
