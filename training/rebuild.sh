#!/bin/sh
# Rebuild models/emoji-tiny from scratch on CPU, the way the shipped model was made:
# data -> tokenizer -> train -> caption distillation -> augmented U-Net fine-tune -> 2 contrastive caption-distillation stages
# -> blend -> ONNX export -> checks.
#   training/rebuild.sh [minutes]      (minutes for train.py, default 600; the later stages add about 240 minutes)
# See training/README.md for what a budget buys. The shipped model's train.py stage ran on a GPU (8 minutes).
# Needs: npm dev packages emoji-datasource-google + emojilib, Debian python3-torch python3-onnx
# python3-numpy python3-pil, wordnet (`wn`), libopenblas0-pthread, libjemalloc2, node (onnxruntime-node).
set -eu
cd "$(dirname "$0")/.."
MINUTES="${1:-600}"
. training/cpu_env.sh
$PY training/prepare_data.py --styles none --no-plain   # the Noto drawings and the captions this model was trained on
$PY training/keywords.py
$PY training/train.py --device cpu --minutes "$MINUTES" --out $W/ckpt
$PY training/distill_captions.py --init $W/ckpt --check-heldout
$PY training/distill_captions.py --init $W/ckpt --minutes 20 --lr 5e-4 --out $W/distill
$PY training/distill_captions.py --init $W/ckpt --minutes 20 --lr 4e-4 --anchor 2 --specific --seed 1 \
  --student $W/distill/text_encoder.pt --out $W/distill2
$PY training/finetune_augment.py --init $W/ckpt --text $W/distill2/text_encoder.pt --minutes 110 --out $W/augment
$PY training/distill_captions.py --init $W/ckpt --minutes 40 --lr 3e-4 --anchor 5 --specific --contrast 0.1 --seed 4 \
  --student $W/distill2/text_encoder.pt --out $W/distill3
$PY training/distill_captions.py --init $W/ckpt --minutes 40 --lr 2e-4 --anchor 5 --specific --contrast 0.1 --seed 5 \
  --student $W/distill3/text_encoder.pt --out $W/distill4
$PY training/blend_unet.py --a $W/ckpt --b $W/augment --alpha 0.75 --text $W/distill4/text_encoder.pt --out $W/blend
$PY training/export.py --ckpt $W/blend --model models/emoji-tiny
unset LD_PRELOAD
$PY training/test_tokenizer.py
node training/verify_onnx.mjs models/emoji-tiny $W/verify
du -sh models/emoji-tiny
