#!/bin/sh
# Rebuild models/emoji-tiny from scratch on CPU: data -> tokenizer -> train -> ONNX export -> check.
#   training/rebuild.sh [minutes]      (default 600; see training/README.md for what a budget buys)
# Needs: npm dev packages emoji-datasource-google + emojilib, Debian python3-torch python3-onnx
# python3-numpy python3-pil, wordnet (`wn`), libopenblas0-pthread, libjemalloc2, node (onnxruntime-node).
set -eu
cd "$(dirname "$0")/.."
MINUTES="${1:-600}"
OUT=training/.work/ckpt
PY=/usr/bin/python3
# jemalloc with decay off avoids page-fault storms (up to 4x slower without); two threads on two cores
export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
export MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 TORCH_THREADS=2
$PY training/prepare_data.py
$PY training/train.py --device cpu --minutes "$MINUTES" --out "$OUT"
$PY training/export.py --ckpt "$OUT" --model models/emoji-tiny
unset LD_PRELOAD
$PY training/test_tokenizer.py
node training/verify_onnx.mjs models/emoji-tiny training/.work/verify
du -sh models/emoji-tiny
