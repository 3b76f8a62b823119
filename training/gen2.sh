#!/bin/sh
# The embedded model's second generation, as far as it goes (see training/README.md, "Second generation"):
# the shipped model read back from models/emoji-tiny -> the four artists' drawings with plain-language captions ->
# U-Net + text encoder fine-tune in chunks -> latent consistency distillation for 4 steps -> ONNX export to a
# candidate folder (not models/emoji-tiny: a candidate ships only after npm run eval:model says it is better).
#   training/gen2.sh [chunks] [candidate folder]       (9-minute chunks, default 4; then 14 minutes of distillation)
# On a GPU machine set DEVICE=cuda: train.py and distill_lcm.py run there in minutes.
set -eu
cd "$(dirname "$0")/.."
CHUNKS="${1:-4}"
CANDIDATE="${2:-training/.work/emoji-gen2}"
DEVICE="${DEVICE:-cpu}"
. training/cpu_env.sh
$PY training/import_onnx.py --model models/emoji-tiny --out $W/shipped
npx tsx training/rasterize_styles.ts
$PY training/prepare_data.py --tokenizer $W/shipped/tokenizer
# train.py on the CPU grows by about 50 MB a step under this allocator (not found yet), so it runs in chunks that
# each continue from the last one's EMA weights, at falling learning rates
prev=$W/shipped
i=1
for lr in 3e-4 2e-4 1.5e-4 1e-4 7e-5 5e-5; do
  [ "$i" -le "$CHUNKS" ] || break
  $PY training/train.py --device "$DEVICE" --minutes 9 --lr $lr --ckpt-every 120 --init $prev --out $W/gen2-c$i
  prev=$W/gen2-c$i
  i=$((i + 1))
done
$PY training/distill_lcm.py --device "$DEVICE" --init $prev --out $W/gen2-lcm --minutes 14 --batch 16 --lr 1e-4
$PY training/export.py --ckpt $prev --model "$CANDIDATE"
$PY training/export.py --ckpt $W/gen2-lcm --model "$CANDIDATE-lcm" --lcm
unset LD_PRELOAD
npm run eval:model -- --model "$CANDIDATE" --prompts training/plain_descriptions.json --set dev --out $W/eval_gen2_dev.json
npm run eval:model -- --model "$CANDIDATE-lcm" --steps 4 --guidance 1 --sampler lcm \
  --prompts training/plain_descriptions.json --set dev --out $W/eval_gen2_lcm_dev.json
