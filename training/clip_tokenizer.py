"""CLIP's byte-level BPE tokenizer (encode) and a classic BPE learner that writes CLIP's file format.

The engine tokenizes prompts with a TypeScript port of CLIP's algorithm, so training must tokenize the
same way: lower-case, collapse whitespace, split with CLIP's regex, byte-encode, merge by rank, wrap in
<|startoftext|> ... <|endoftext|>, pad with <|endoftext|> and truncate to the context length.

CLIP's pattern uses \\p{L} / \\p{N} from the `regex` module, which is not installed here; the `re`
equivalents below agree on letters, decimal digits and everything else (they differ only on rare
non-decimal numerals such as '²', which CLIP would split as a number and we keep with letters).
"""
from __future__ import annotations

import html
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"

PAT = re.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+""",
    re.IGNORECASE,
)


def bytes_to_unicode() -> dict[int, str]:
    """CLIP/GPT-2's reversible byte -> printable unicode map, in CLIP's order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_ENCODER = bytes_to_unicode()


def clean(text: str) -> str:
    # CLIP runs ftfy + html.unescape twice, then collapses whitespace; ftfy only fixes mojibake.
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


def pre_tokenize(text: str) -> list[str]:
    """Cleaned text -> byte-encoded words (no </w> yet)."""
    return ["".join(BYTE_ENCODER[b] for b in tok.encode("utf-8")) for tok in PAT.findall(clean(text))]


def _pairs(word: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


class ClipTokenizer:
    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], max_length: int):
        self.encoder = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.max_length = max_length
        self.bos = vocab[BOS]
        self.eos = vocab[EOS]
        self.cache: dict[str, list[str]] = {BOS: [BOS], EOS: [EOS]}

    @classmethod
    def load(cls, folder: str | Path) -> "ClipTokenizer":
        folder = Path(folder)
        vocab = json.loads((folder / "vocab.json").read_text())
        lines = (folder / "merges.txt").read_text().split("\n")[1:]
        merges = [tuple(l.split(" ")) for l in lines if l.strip()]
        cfg = json.loads((folder / "tokenizer_config.json").read_text())
        return cls(vocab, merges, int(cfg["model_max_length"]))

    def bpe(self, token: str) -> list[str]:
        """CLIP's bpe(): repeatedly merge the lowest-ranked adjacent pair."""
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = _pairs(word)
        while pairs:
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new: list[str] = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new.extend(word[i:])
                    break
                new.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
            if len(word) == 1:
                break
            pairs = _pairs(word)
        self.cache[token] = list(word)
        return self.cache[token]

    def encode_text(self, text: str) -> list[int]:
        """Token ids without start/end markers."""
        return [self.encoder[t] for w in pre_tokenize(text) for t in self.bpe(w)]

    def __call__(self, text: str) -> list[int]:
        """[BOS, ids..., EOS, EOS pads], truncated to max_length with EOS kept last (as transformers does)."""
        ids = self.encode_text(text)[: self.max_length - 2]
        ids = [self.bos] + ids + [self.eos]
        return ids + [self.eos] * (self.max_length - len(ids))


def learn_bpe(texts: list[str], num_merges: int, min_count: int = 2) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Classic BPE (Sennrich) on pre-tokenized words, </w> on the last symbol; returns CLIP-ordered vocab and merges.

    A merge whose concatenation already exists is skipped so every token string has exactly one id.
    """
    word_counts = Counter(w for t in texts for w in pre_tokenize(t))
    words = [tuple(w[:-1]) + (w[-1] + "</w>",) for w in word_counts]
    counts = [word_counts[w] for w in word_counts]
    base = list(BYTE_ENCODER.values())
    symbols = set(base) | {b + "</w>" for b in base}
    pair_counts: Counter = Counter()
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_counts[(a, b)] += counts[i]
            where[(a, b)].add(i)
    merges: list[tuple[str, str]] = []
    banned: set[tuple[str, str]] = set()
    while len(merges) < num_merges and pair_counts:
        best = max(((c, p) for p, c in pair_counts.items() if p not in banned), default=None)
        if best is None or best[0] < min_count:
            break
        _, pair = best
        merged = pair[0] + pair[1]
        if merged in symbols:
            banned.add(pair)
            continue
        symbols.add(merged)
        merges.append(pair)
        for i in list(where[pair]):
            w = words[i]
            for a, b in zip(w, w[1:]):
                pair_counts[(a, b)] -= counts[i]
                if pair_counts[(a, b)] <= 0:
                    del pair_counts[(a, b)]
                where[(a, b)].discard(i)
            new: list[str] = []
            j = 0
            while j < len(w):
                if j < len(w) - 1 and w[j] == pair[0] and w[j + 1] == pair[1]:
                    new.append(merged)
                    j += 2
                else:
                    new.append(w[j])
                    j += 1
            w = tuple(new)
            words[i] = w
            for a, b in zip(w, w[1:]):
                pair_counts[(a, b)] += counts[i]
                where[(a, b)].add(i)
    vocab_list = base + [b + "</w>" for b in base] + ["".join(m) for m in merges] + [BOS, EOS]
    vocab = {t: i for i, t in enumerate(vocab_list)}
    assert len(vocab) == len(vocab_list), "duplicate token strings"
    return vocab, merges


def save_tokenizer(folder: str | Path, vocab: dict[str, int], merges: list[tuple[str, str]], max_length: int) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    special = {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS}
    cfg = {"model_max_length": max_length, "tokenizer_class": "CLIPTokenizer", "do_lower_case": True, **special}
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
