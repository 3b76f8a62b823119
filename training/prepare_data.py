"""Build the training set: every emoji in four artists' drawings + captions, and the BPE tokenizer.

Reads node_modules/emoji-datasource-google (Noto images, Unicode names, short names, categories),
node_modules/emojilib (CLDR name + keywords, keyed by the emoji character) and the other artists' drawings
that rasterize_styles.ts wrote to training/.work/styles/. Writes into training/.work/ (or --out):
  dataset.npz   one row per drawing: images uint8 [N,64,64,3] on white, unified codes, names, styles
                (noto, fluent, flat, twemoji) and concept (the row of the emoji's Noto drawing)
  captions.json per row a list of captions; index 0 is the main name, without a style; about a third of the
                others name the row's style ("a fox, flat style")
  tokenizer/    CLIP-format vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json; learned
                from the captions, or --tokenizer DIR's copied (to go on training a model that uses it)
  wordnet.json  cache of WordNet look-ups (the `wn` command), reused on the next run

Plain-language captions come from WordNet: the definition ("elongated crescent-shaped yellow fruit with soft
sweet flesh") and the hypernym ("edible fruit") of the name's nouns and one-word keywords, in the shapes of
sentences people type ("a …", "… on a white background").

Kept/dropped (deliberate):
- dropped: skin-tone variants (emoji.json nests them; only the default yellow figure is kept), the five
  skin-tone swatches and other 'Component' entries, keycaps (a digit in a grey box: text, not a picture),
  country and subdivision flags (259 + 3 near-identical rectangles named only by country; a model this
  small cannot learn them and they would take 16 % of the updates). The 8 non-country flags
  (chequered, rainbow, pirate, white, ...) are kept.
- kept: letter-in-a-box symbols (A button, SOS, ...), which are pictures with their own colours.

Usage: /usr/bin/python3 training/prepare_data.py [--merges 4000] [--context 32] [--tokenizer DIR] [--styles DIR|none]
       [--no-plain]      (--styles none --no-plain: the first model's data set, exactly)
"""
from __future__ import annotations

import argparse
import json
import random
import re
import shutil
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

    def senses(self, word: str, count: int = 2) -> list[tuple[str, str]]:
        """(definition, first hypernym) of the word's first `count` noun senses; all of them cached under "noun:"."""
        key = f"noun:{word}"
        if key not in self.cache:
            over = re.findall(r"^\d+\. (?:\(\d+\) )?[^\n]*? -- \((.*)\)$", self._run(word, "-over").split("Overview of verb")[0], re.M)
            blocks = re.split(r"\nSense \d+\n", self._run(word, "-hypen"))[1:]
            hypers = []
            for block in blocks:
                m = re.search(r"=> ([^,\n]+)", block)
                hypers.append(m.group(1).strip() if m else "")
            # the definition only: WordNet follows it with '; "an example sentence"'
            self.cache[key] = [[d.split(';')[0].strip(), h] for d, h in zip(over, hypers + [""] * len(over))]
            self.dirty = True
        return [(d, h) for d, h in self.cache[key][:count]]

    def save(self) -> None:
        if self.dirty:
            self.path.write_text(json.dumps(self.cache, indent=0, sort_keys=True))


NO_ARTICLE = {"a", "an", "the", "any", "used", "of", "in", "relating", "having", "being", "someone", "something", "one"}


def article(phrase: str) -> str:
    """"a fruit", "an apple"; a definition that already starts like "the ..." or "used of ..." keeps its start."""
    first = phrase.split(" ", 1)[0].lower()
    if first in NO_ARTICLE:
        return phrase
    return ("an " if first[:1] in "aeiou" else "a ") + phrase


def plain_definition(text: str) -> str:
    """WordNet's definition without its asides: "a member of the genus Canis (probably ...) that has ..."."""
    return re.sub(r"\s+", " ", re.sub(r"\([^()]*\)", "", text)).strip(" ,")


def fitting_senses(word: str, context: set[str], wn: WordNet, count: int) -> list[tuple[str, str]]:
    """The word's senses that share the most words with the emoji's name and keywords, WordNet's order breaking ties."""
    senses = wn.senses(word, 4)
    scored = [(len(context & set(words_of(d + " " + h)) - {word}), -i, d, h) for i, (d, h) in enumerate(senses)]
    scored.sort(reverse=True)
    fitting = [(d, h) for n, _, d, h in scored[:count] if n > 0]
    return fitting or senses[:1]


def plain_captions(main: str, keywords: list[str], category: str, wn: WordNet, rng: random.Random) -> list[str]:
    """Sentences in everyday words: WordNet definitions and kinds of the name's nouns and of one-word keywords."""
    heads = [w for w in words_of(main) if w not in STOP and len(w) > 2]
    looked = (["_".join(words_of(main))] if len(heads) > 1 else []) + heads[-2:]
    looked += [k for k in keywords if re.fullmatch(r"[a-z]+", k) and k not in STOP][:3]
    context = set(words_of(" ".join([main, category] + keywords))) - STOP
    out: list[str] = []
    for i, word in enumerate(looked):
        for definition, hyper in fitting_senses(word, context, wn, 2 if i < 2 else 1):
            definition = plain_definition(definition)
            if not definition:
                continue
            shapes = [definition, article(definition), f"{article(definition)} on a white background"]
            if hyper:
                shapes += [article(hyper), f"{article(hyper)}, {definition}", f"{main}, {article(hyper)}"]
            out += rng.sample(shapes, min(3, len(shapes)))
    for k in rng.sample(keywords, min(2, len(keywords))):
        out.append(rng.choice([f"an emoji of {article(k)}", f"{article(k)} on a white background", f"a picture of {k}"]))
    return out


def styled(captions: list[str], style: str, rng: random.Random, share: float = 0.35) -> list[str]:
    """The row's captions with about `share` of them (never the name at index 0) naming its style."""
    out = [captions[0], f"{captions[0]}, {style} style", f"{style} style {captions[0]}"]
    for c in captions[1:]:
        out.append(rng.choice([f"{c}, {style} style", f"{c} in {style} style", f"{style} {c}"]) if rng.random() < share else c)
    return out


def build_captions(e: dict, kw: list[str], wn: WordNet, rng: random.Random, plain: bool) -> tuple[str, list[str]]:
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
    if plain:
        caps += plain_captions(main, keywords, e["category"].lower(), wn, rng)
    out, seen = [], set()
    for c in caps:
        c = re.sub(r"\s+", " ", c).strip()
        if c and c not in seen:
            seen.add(c)
            out.append(c)
    return main, out[:64 if plain else 48]


def other_styles(folder: Path, codes: list[str]) -> list[tuple[str, np.ndarray, list[int]]]:
    """(style, images [N,S,S,3], present per code) from rasterize_styles.ts's manifest, in the same code order."""
    manifest = json.loads((folder / "manifest.json").read_text())
    if manifest["codes"] != codes:
        raise SystemExit(f"{folder} was rasterised for another emoji list: rerun npx tsx training/rasterize_styles.ts")
    side = manifest["side"]
    if side != 64:
        raise SystemExit(f"{folder} holds {side}px drawings; the model trains at 64px")
    return [(st["name"], np.fromfile(folder / st["file"], dtype=np.uint8).reshape(len(codes), side, side, 3), st["present"])
            for st in manifest["styles"]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--merges", type=int, default=4000)
    ap.add_argument("--context", type=int, default=32)
    ap.add_argument("--tokenizer", default=None, help="keep this tokenizer folder instead of learning one")
    ap.add_argument("--styles", default=str(WORK / "styles"),
                    help="rasterize_styles.ts's output, or 'none': the Noto drawings alone, captions without styles")
    ap.add_argument("--no-plain", action="store_true", help="no WordNet sentences (the first model's captions)")
    ap.add_argument("--out", default=str(WORK), help="where dataset.npz, captions.json and tokenizer/ go")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    emoji = sorted(json.loads((DS / "emoji.json").read_text()), key=lambda e: e["sort_order"])
    emoji = [e for e in emoji if keep(e)]
    lib = json.loads(LIB.read_text())
    wn = WordNet(WORK / "wordnet.json")
    rng = random.Random(0)
    base = []
    for e in emoji:
        ch = unified_to_char(e["unified"])
        kw = lib.get(ch) or lib.get(ch.replace("\ufe0f", "")) or lib.get(ch + "\ufe0f") or []
        base.append(build_captions(e, kw, wn, rng, not args.no_plain))
    wn.save()
    codes0 = [e["unified"] for e in emoji]
    styles = [("noto", np.stack([load_image(e["image"]) for e in emoji]), [1] * len(emoji))]
    if args.styles != "none":
        styles += other_styles(Path(args.styles), codes0)
    images, codes, names, captions, categories, style_of, concept = [], [], [], [], [], [], []
    for name, imgs, present in styles:
        for i, e in enumerate(emoji):
            if not present[i]:
                continue
            main_name, caps = base[i]
            images.append(imgs[i])
            codes.append(e["unified"])
            names.append(main_name)
            captions.append(styled(caps, name, rng) if len(styles) > 1 else caps)
            categories.append(e["category"])
            style_of.append(name)
            concept.append(i)
    np.savez_compressed(out / "dataset.npz", images=np.stack(images), codes=np.array(codes), names=np.array(names),
                        categories=np.array(categories), styles=np.array(style_of), concept=np.array(concept))
    (out / "captions.json").write_text(json.dumps({"codes": codes, "captions": captions}, indent=0))
    corpus = [c for caps in captions for c in caps]
    if args.tokenizer:
        if Path(args.tokenizer).resolve() != (out / "tokenizer").resolve():
            shutil.rmtree(out / "tokenizer", ignore_errors=True)
            shutil.copytree(args.tokenizer, out / "tokenizer")
    else:
        vocab, merges = learn_bpe(corpus, args.merges)
        save_tokenizer(out / "tokenizer", vocab, merges, args.context)
    tok = ClipTokenizer.load(out / "tokenizer")
    lens = [len(tok.encode_text(c)) for c in corpus]
    print(f"emoji kept {len(codes0)}; drawings {len(codes)} "
          f"({', '.join(f'{n} {sum(p)}' for n, _, p in styles)}); captions {len(corpus)} "
          f"({len(corpus) / len(codes):.1f}/drawing); words {len(set(w for c in corpus for w in words_of(c)))}; "
          f"vocab {len(tok.encoder)}; tokens/caption mean {np.mean(lens):.1f} max {max(lens)}, "
          f"over {tok.max_length - 2}: {np.mean([n > tok.max_length - 2 for n in lens]):.1%}; "
          f"dataset {(out / 'dataset.npz').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
