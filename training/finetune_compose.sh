#!/bin/sh
# Continue the shipped model (.work/gpu) with compositional keyword captions (train.py --compose) on a GPU,
# checkpointing every 45 s so a run cut short still returns weights. From the repository root:
#   training/finetune_compose.sh SECONDS OUT_DIR
# Needs in training/.work: dataset.npz, captions.json, tokenizer/, keywords.json (keywords.py), gpu/*.pt.
# With the device tool: run(command="training/finetune_compose.sh 200 $OUT/ft", carry=[those five paths]).
set -eu
SECS="${1:?seconds of training}"
OUT="${2:?output folder}"
cd "$(dirname "$0")"
case "$OUT" in /*) ;; *) OUT="$OLDPWD/$OUT" ;; esac
# train.py keeps 20 s of its --minutes for loading and the last save
MIN=$(python3 -c "print(($SECS + 20) / 60)")
python3 train.py --device "${DEVICE:-cuda}" --minutes "$MIN" --init .work/gpu --compose 0.35 --lr 3e-4 --ckpt-every 45 --out "$OUT"
