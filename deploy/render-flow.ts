// Renders docs/flow.png for the README: the previews a user sees in the Discord reply, step by
// step, from one real engine run, followed by the final image. Nothing is retouched.
//   npx tsx deploy/render-flow.ts [--model DIR] [--prompt TEXT] [--seed N] [--steps N] [--out FILE]
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { DiffusionPipeline } from '../src/engine/index.ts';
import type { RawImage } from '../src/engine/types.ts';
import { PROJECT_ROOT } from '../src/app/config.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: process.env.MODEL_DIR ?? join(PROJECT_ROOT, 'models', 'emoji-tiny') },
    prompt: { type: 'string', default: 'a red apple' },
    seed: { type: 'string', default: '7' },
    steps: { type: 'string', default: '20' },
    guidance: { type: 'string', default: '5' },
    sampler: { type: 'string', default: 'euler' },
    frames: { type: 'string', default: '5' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'docs', 'flow.png') },
  },
});

const TILE = 128;
const GAP = 8;
const LABEL = 22;

function svgLabel(text: string, width: number): Buffer {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${LABEL}"><text x="${width / 2}" y="16" font-family="sans-serif" font-size="13" text-anchor="middle" fill="#444">${escaped}</text></svg>`,
  );
}

async function tile(image: RawImage): Promise<Buffer> {
  return sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(TILE, TILE, { kernel: 'nearest', fit: 'contain', background: '#ffffff' })
    .png()
    .toBuffer();
}

async function main(): Promise<void> {
  const pipeline = await DiffusionPipeline.load(resolve(values.model!));
  const steps = Number(values.steps);
  const frames = Number(values.frames);
  const side = pipeline.defaultSize;
  const previews: Array<{ step: number; image: RawImage }> = [];
  const result = await pipeline.generate(
    {
      prompt: values.prompt!,
      seed: Number(values.seed),
      steps,
      guidance: Number(values.guidance),
      width: side,
      height: side,
      sampler: values.sampler as 'euler',
      count: 1,
    },
    { onStep: ({ step, preview }) => preview && previews.push({ step, image: preview }) },
  );
  await pipeline.close();
  if (previews.length === 0)
    throw new Error(`expected previews from ${values.model}, got none (the model gives no preview factors?)`);

  // Evenly spaced previews, always including the first step; then the final decoded image.
  const picks = Array.from(
    { length: Math.min(frames, previews.length) },
    (_, i) => previews[Math.round((i * (previews.length - 1)) / Math.max(1, Math.min(frames, previews.length) - 1))],
  );
  const cells = [
    ...picks.map((p) => ({ image: p.image, label: `step ${p.step}/${steps}` })),
    { image: result.images[0], label: 'final' },
  ];
  const width = cells.length * TILE + (cells.length + 1) * GAP;
  const height = TILE + LABEL + 2 * GAP + LABEL;
  const composites: sharp.OverlayOptions[] = [
    {
      input: svgLabel(
        `/imagine prompt:${values.prompt}  (seed ${values.seed}, ${values.sampler}, ${result.model})`,
        width,
      ),
      left: 0,
      top: 2,
    },
  ];
  for (const [i, cell] of cells.entries()) {
    const left = GAP + i * (TILE + GAP);
    composites.push({ input: await tile(cell.image), left, top: LABEL + GAP });
    composites.push({ input: svgLabel(cell.label, TILE), left, top: LABEL + GAP + TILE + 2 });
  }
  mkdirSync(dirname(values.out!), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toFile(values.out!);
  console.log(
    `wrote ${values.out} (${cells.length} frames, ${result.timings.totalMs.toFixed(0)} ms for ${steps} steps on ${result.model})`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
