#!/bin/sh
# Caption distillation of the shipped text encoder on CPU (about 2 hours on 2 cores), then export.
# The four stages that made the shipped text encoder (see training/README.md, "Caption distillation"):
#   training/distill.sh [models/emoji-tiny]
# Needs training/.work/{dataset.npz,captions.json,tokenizer,keywords.json,gpu/*.pt,augment/*.pt}. Only text_encoder/ changes.
set -eu
cd "$(dirname "$0")/.."
MODEL="${1:-models/emoji-tiny}"
PY=/usr/bin/python3
export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
export MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 TORCH_THREADS=2
$PY training/distill_captions.py --check-heldout
$PY training/distill_captions.py --minutes 20 --lr 5e-4 --out training/.work/distill
$PY training/distill_captions.py --minutes 20 --lr 4e-4 --anchor 2 --specific --seed 1 \
  --student training/.work/distill/text_encoder.pt --out training/.work/distill2
$PY training/distill_captions.py --minutes 40 --lr 3e-4 --anchor 5 --specific --contrast 0.1 --seed 4 \
  --student training/.work/distill2/text_encoder.pt --out training/.work/distill3
$PY training/distill_captions.py --minutes 40 --lr 2e-4 --anchor 5 --specific --contrast 0.1 --seed 5 \
  --student training/.work/distill3/text_encoder.pt --out training/.work/distill4
$PY training/distill_captions.py --text-eval training/.work/distill/text_encoder.pt training/.work/distill2/text_encoder.pt \
  training/.work/distill3/text_encoder.pt training/.work/distill4/text_encoder.pt
$PY training/blend_unet.py --a training/.work/gpu --b training/.work/augment --alpha 0.75 \
  --text training/.work/distill4/text_encoder.pt --out training/.work/blend
$PY training/export.py --ckpt training/.work/blend --model "$MODEL"
unset LD_PRELOAD
node training/verify_onnx.mjs "$MODEL" training/.work/verify
