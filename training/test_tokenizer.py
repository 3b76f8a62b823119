"""Unit checks of the Python CLIP tokenizer and BPE learner; also writes training/tokenizer_fixtures.json
(prompt -> ids with models/emoji-tiny/tokenizer) so the engine's TypeScript tokenizer can be tested
against exactly what training used.

  /usr/bin/python3 training/test_tokenizer.py
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clip_tokenizer import BOS, EOS, ClipTokenizer, bytes_to_unicode, learn_bpe, pre_tokenize, save_tokenizer  # noqa: E402

FIXTURE_PROMPTS = [
    "", "grinning face", "  Grinning   FACE  ", "red apple", "a cat's face, smiling!", "don't stop",
    "rocket 🚀 to the moon", "3 pizzas & 12 donuts", "&amp; html &lt;b&gt;", "snake_case-words",
    "Crème brûlée café", "spaceship flames spiky", "unknownwordxyz",
    "a very long prompt " * 12,
]


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def main() -> None:
    b2u = bytes_to_unicode()
    check(len(b2u) == 256 and len(set(b2u.values())) == 256, "byte map must be a bijection on 256 bytes")
    check(b2u[ord(" ")] == "Ġ" and b2u[ord("a")] == "a" and b2u[10] == "Ċ", "CLIP/GPT-2 byte map")
    check(pre_tokenize("Don't  STOP, 42!") == ["don", "'t", "stop", ",", "4", "2", "!"], "CLIP regex split")
    check(pre_tokenize("é") == ["Ã©"], "multi-byte characters are byte-encoded")

    # a learner on a toy corpus: most frequent pairs merge first, CLIP's vocab layout
    vocab, merges = learn_bpe(["low lower lowest", "low low slow"], 10)
    check(merges[0] == ("l", "o"), f"first merge should be the most frequent pair, got {merges[0]}")
    ids = sorted(vocab.values())
    check(ids == list(range(len(vocab))), "ids are dense")
    check(vocab["!"] == 0 and vocab["!</w>"] == 256 and vocab[BOS] == len(vocab) - 2 and vocab[EOS] == len(vocab) - 1,
          "CLIP layout: bytes, bytes</w>, merges, <|startoftext|>, <|endoftext|>")
    with tempfile.TemporaryDirectory() as d:
        save_tokenizer(d, vocab, merges, 8)
        check(Path(d, "merges.txt").read_text().startswith("#version: 0.2\n"), "merges header")
        tok = ClipTokenizer.load(d)
        out = tok("low lowest")
        check(len(out) == 8 and out[0] == vocab[BOS] and out[-1] == vocab[EOS], "padded to context with EOS")
        check(out[1] == vocab["low</w>"], f"'low' should merge to one token, got {out[1]}")
        long = tok("low " * 20)
        check(len(long) == 8 and long[-1] == vocab[EOS] and long[-2] == vocab["low</w>"], "truncation keeps EOS last")

    # the shipped tokenizer, and fixtures for the engine
    model_tok = HERE.parent / "models" / "emoji-tiny" / "tokenizer"
    tok = ClipTokenizer.load(model_tok)
    check(tok("grinning face") == tok("  Grinning   FACE  "), "case and whitespace are normalised")
    check(tok("") == [tok.bos] + [tok.eos] * (tok.max_length - 1), "empty prompt = start, end, end pads")
    fixtures = [{"prompt": p, "ids": tok(p), "tokens": [t for w in pre_tokenize(p) for t in tok.bpe(w)]} for p in FIXTURE_PROMPTS]
    (HERE / "tokenizer_fixtures.json").write_text(json.dumps(
        {"tokenizer": "models/emoji-tiny/tokenizer", "context_length": tok.max_length, "cases": fixtures},
        ensure_ascii=False, indent=1) + "\n")
    print(f"tokenizer checks passed; {len(fixtures)} fixtures written to training/tokenizer_fixtures.json")


if __name__ == "__main__":
    main()
