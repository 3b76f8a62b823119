// npm run eval:model [-- --model DIR --seeds 2 --steps 20 --guidance 7.5 --sampler euler_a --limit N --out FILE --sheet PNG
//                      --prompts FILE --set NAME]  (e.g. --prompts training/plain_descriptions.json --set test)
// Generates every prompt of training/eval_prompts.json through OUR engine (DiffusionPipeline, onnxruntime-node),
// ranks the training drawings (every style) by L2 distance in two 16x16 RGB feature spaces (training/nearest.ts:
// pooled, and framed = cropped to the drawing first), counts them by concept (the 5 nearest emoji, whichever
// artist drew them) and reports top-1 / top-5 per prompt kind and space, and seed diversity.
// Defaults are the bot's: 20 steps, guidance 7.5, euler_a.
// Writes training/eval_engine.json unless --out says otherwise; --sheet also writes the first 8 prompts of each kind,
// one row of seeds each, as a PNG (to see whether seeds differ).
import { readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DiffusionPipeline, SAMPLERS, type RawImage, type SamplerName } from '../src/engine/index.ts';
import {
  FEATURES,
  featureOf,
  loadTrainingSet,
  nearest,
  nearestConcepts,
  rmsDifference,
  type FeatureName,
} from './nearest.ts';

interface EvalPrompt {
  kind: string;
  prompt: string;
  unified: string;
}

class UsageError extends Error {
  override name = 'UsageError';
}

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(ROOT, 'models', 'emoji-tiny') },
    seeds: { type: 'string', default: '2' },
    steps: { type: 'string', default: '20' },
    guidance: { type: 'string', default: '7.5' },
    sampler: { type: 'string', default: 'euler_a' },
    limit: { type: 'string' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string', default: join(ROOT, 'training', 'eval_engine.json') },
    sheet: { type: 'string' },
    // Another prompt file: { prompts } as eval_prompts.json, or { dev, test } as plain_descriptions.json with --set.
    prompts: { type: 'string', default: join(ROOT, 'training', 'eval_prompts.json') },
    set: { type: 'string' },
  },
});
const num = (name: string, text: string, min: number): number => {
  const v = Number(text);
  if (!Number.isFinite(v) || v < min)
    throw new UsageError(`expected --${name} to be a number >= ${min}, got ${JSON.stringify(text)}`);
  return v;
};
const seeds = num('seeds', values.seeds, 1);
const steps = num('steps', values.steps, 1);
const guidance = num('guidance', values.guidance, 0);
const limit = values.limit === undefined ? Infinity : num('limit', values.limit, 1);
if (!(SAMPLERS as readonly string[]).includes(values.sampler))
  throw new UsageError(`expected --sampler in ${SAMPLERS.join(', ')}, got ${values.sampler}`);
const sampler = values.sampler as SamplerName;

const file = JSON.parse(await readFile(resolve(values.prompts), 'utf8')) as Record<string, EvalPrompt[]>;
const all = file[values.set ?? 'prompts'];
if (!Array.isArray(all))
  throw new UsageError(`expected ${values.prompts} to hold a "${values.set ?? 'prompts'}" list (pick one with --set)`);
const kinds = [...new Set(all.map((p) => p.kind))];
const prompts = kinds.flatMap((k) => all.filter((p) => p.kind === k).slice(0, limit));

let t = performance.now();
const set = await loadTrainingSet(ROOT);
const concepts = new Set(set.codes);
console.log(
  `training set: ${set.codes.length} drawings of ${concepts.size} emoji, features in ${((performance.now() - t) / 1000).toFixed(1)} s`,
);
const engine = await DiffusionPipeline.load(resolve(values.model), {
  intraOpNumThreads: num('threads', values.threads, 1),
});
const size = engine.defaultSize;

interface Row {
  kind: string;
  prompt: string;
  target: string;
  nearest: Record<FeatureName, string[][]>; // per space and seed, the 5 nearest emoji (by their nearest drawing)
  rank: Record<FeatureName, number[]>; // per space and seed, 1-based rank of the target among the 5 nearest, 0 when absent
  drawing: string[]; // per seed, the nearest drawing (pooled) as code/style
  rms: number[]; // per seed pair
}
const rows: Row[] = [];
const SHEET_ROWS = 8;
const sheet: RawImage[][] = [];
t = performance.now();
let runMs = 0;
for (let p = 0; p < prompts.length; p++) {
  const { kind, prompt, unified } = prompts[p];
  if (!concepts.has(unified))
    throw new UsageError(`eval prompt ${JSON.stringify(prompt)} names ${unified}, which is not in the training set`);
  const images: RawImage[] = [];
  // image i uses seed base + i; at most 4 a request
  for (let done = 0; done < seeds; done += 4) {
    const r = await engine.generate({
      prompt,
      negativePrompt: '',
      seed: 1000 * p + done + 1,
      steps,
      guidance,
      width: size,
      height: size,
      sampler,
      count: Math.min(4, seeds - done),
    });
    images.push(...r.images);
    runMs += r.timings.sessionRunMs;
  }
  if (values.sheet && prompts.slice(0, p).filter((q) => q.kind === kind).length < SHEET_ROWS) sheet.push(images);
  const near = Object.fromEntries(
    FEATURES.map((f) => [f, images.map((img) => nearestConcepts(set, featureOf[f](img), 5, f))]),
  ) as Record<FeatureName, string[][]>;
  const drawing = images.map((img) => {
    const [i] = nearest(set, featureOf.pooled(img), 1);
    return `${set.codes[i]}/${set.styles[i]}`;
  });
  const rms: number[] = [];
  for (let a = 0; a < images.length; a++)
    for (let b = a + 1; b < images.length; b++) rms.push(rmsDifference(images[a], images[b]));
  const each = <T>(fn: (lists: string[][]) => T) =>
    Object.fromEntries(FEATURES.map((f) => [f, fn(near[f])])) as Record<FeatureName, T>;
  rows.push({
    kind,
    prompt,
    target: unified,
    nearest: each((l) => l),
    rank: each((l) => l.map((n) => n.indexOf(unified) + 1)),
    drawing,
    rms,
  });
  if ((p + 1) % 50 === 0)
    console.log(`${p + 1}/${prompts.length} prompts, ${((performance.now() - t) / 1000).toFixed(0)} s`);
}
const genSeconds = (performance.now() - t) / 1000;
await engine.close();

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
function summarise(rs: Row[]) {
  const ranks = (f: FeatureName) => rs.flatMap((r) => r.rank[f]);
  // per seed pair: [nearest drawings differ, and both are drawings of the intended emoji]
  const pairs = rs.flatMap((r) =>
    r.drawing.flatMap((a, i) =>
      r.drawing.slice(i + 1).map((b) => [a !== b, a.split('/')[0] === r.target && b.split('/')[0] === r.target]),
    ),
  );
  return {
    prompts: rs.length,
    images: ranks('pooled').length,
    top1: round(mean(ranks('pooled').map((k) => (k === 1 ? 1 : 0)))),
    top5: round(mean(ranks('pooled').map((k) => (k > 0 ? 1 : 0)))),
    framed_top1: round(mean(ranks('framed').map((k) => (k === 1 ? 1 : 0)))),
    framed_top5: round(mean(ranks('framed').map((k) => (k > 0 ? 1 : 0)))),
    seed_rms_pixel_diff: round(mean(rs.flatMap((r) => r.rms)), 4),
    seed_nearest_differs: round(mean(pairs.map(([d]) => (d ? 1 : 0)))),
    seed_differs_on_target: round(mean(pairs.map(([d, t]) => (d && t ? 1 : 0)))),
  };
}
const byKind = Object.fromEntries(kinds.map((k) => [k, summarise(rows.filter((r) => r.kind === k))]));
const result = {
  command: `npm run eval:model -- ${process.argv.slice(2).join(' ')}`.trim(),
  model: engine.modelName,
  engine: 'DiffusionPipeline (onnxruntime-node, CPU)',
  sampler,
  steps,
  guidance,
  seeds,
  size,
  feature:
    '16x16 average-pooled RGB in [0,1] (768 values), L2, against the 64x64 training drawings of every style composited on white, counted by emoji',
  framed_feature:
    'the same after cropping each image to the square around its drawing (pixels with a channel below 240), 8x8 point samples a cell',
  seed_diversity:
    'rms: RMS pixel difference (0..1) between two seeds of one prompt, mean over pairs; nearest_differs: share of seed pairs whose nearest training drawings (emoji and style) differ; differs_on_target: ... and both are drawings of the intended emoji',
  seconds: round(genSeconds, 1),
  session_run_seconds: round(runMs / 1000, 1),
  ...byKind,
  all: summarise(rows),
  rows,
};
await writeFile(values.out, `${JSON.stringify(result, null, 1)}\n`);
if (values.sheet) await writeSheet(values.sheet, sheet);

/** Rows of seed images, each drawn 2x (nearest neighbour) with a 4 px white gap. */
async function writeSheet(file: string, imageRows: RawImage[][]): Promise<void> {
  const cell = 2 * size + 4;
  const composites = await Promise.all(
    imageRows.flatMap((row, r) =>
      row.map(async (img, c) => ({
        input: await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
          .resize(2 * img.width, 2 * img.height, { kernel: 'nearest' })
          .png()
          .toBuffer(),
        left: c * cell + 4,
        top: r * cell + 4,
      })),
    ),
  );
  const width = Math.max(...imageRows.map((r) => r.length)) * cell + 4;
  await sharp({ create: { width, height: imageRows.length * cell + 4, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toFile(file);
  console.log(`sheet: ${imageRows.length} prompts x ${seeds} seeds -> ${file}`);
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`.padStart(8);
console.log(
  `\n${engine.modelName}: ${sampler}, ${steps} steps, guidance ${guidance}, ${seeds} seeds, ${size}x${size}; ${genSeconds.toFixed(0)} s`,
);
console.log('                   pooled            framed');
console.log('prompts       n    top-1    top-5    top-1    top-5   seed RMS   nearest differs   ... on target');
for (const [k, s] of [...Object.entries(byKind), ['all', result.all] as const]) {
  console.log(
    `${k.padEnd(11)} ${String(s.prompts).padStart(3)} ${pct(s.top1)} ${pct(s.top5)} ${pct(s.framed_top1)} ${pct(s.framed_top5)}   ${s.seed_rms_pixel_diff.toFixed(3).padStart(7)}   ${pct(s.seed_nearest_differs)}   ${pct(s.seed_differs_on_target)}`,
  );
}
console.log(`written ${values.out}`);
