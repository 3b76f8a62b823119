// npm run bench:timelapse: what the issue-8 extras cost on top of a plain generate() (in-thread engine).
// Prints medians over BENCH_RUNS runs: plain generate, a recorded run (timelapse trace, previews on), the film
// (frame decodes + WebP encode), the whole 🎞 job, the /diffusion strip, and the file sizes.
// MODEL_DIR picks the model (default models/emoji-tiny); BENCH_STEPS, BENCH_COUNT, BENCH_SAMPLER tune the request.
// Wall-clock figures on a shared 2-core machine include other processes' time: compare medians, rerun when busy.
import { DiffusionPipeline } from '../src/engine/pipeline.ts';
import { traceGeneration } from '../src/media/trace.ts';
import { encodeTimelapse, timelapseFrames, TIMELAPSE_DEFAULTS } from '../src/media/timelapse.ts';
import { makeDiffusionStrip } from '../src/media/diffusion-strip.ts';
import { createMediaRenderer } from '../src/media/renderer.ts';
import type { GenerateRequest } from '../src/engine/types.ts';
import { engineBenchSettings } from './settings.ts';

const { modelDir, runs, steps, count, sampler, threads } = engineBenchSettings(5);

const pipeline = await DiffusionPipeline.load(modelDir, { intraOpNumThreads: threads });
const size = pipeline.defaultSize;
const request = (seed: number): GenerateRequest => ({
  prompt: 'a smiling red apple',
  seed,
  steps,
  guidance: 7,
  width: size,
  height: size,
  sampler,
  count,
});
const media = createMediaRenderer(pipeline);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = async <T>(f: () => Promise<T>): Promise<[number, T]> => {
  const t = performance.now();
  const out = await f();
  return [performance.now() - t, out];
};

await pipeline.generate(request(0)); // warm-up
const rows: Record<string, number[]> = {
  generate: [],
  recorded: [],
  frames: [],
  encode: [],
  timelapseJob: [],
  strip: [],
};
let filmBytes = 0;
let filmFrames = 0;
let stripBytes = 0;
for (let i = 1; i <= runs; i++) {
  rows.generate.push((await timed(() => pipeline.generate(request(i), { onStep: () => {} })))[0]);
  const [recordedMs, trace] = await timed(() => traceGeneration(pipeline, request(i), { onStep: () => {} }));
  rows.recorded.push(recordedMs);
  const [framesMs, frames] = await timed(() => timelapseFrames(pipeline, trace, TIMELAPSE_DEFAULTS.maxFrames));
  rows.frames.push(framesMs);
  const [encodeMs, film] = await timed(() => encodeTimelapse(frames, trace.total));
  rows.encode.push(encodeMs);
  filmBytes = film.webp.length;
  filmFrames = film.frameSteps.length;
  rows.timelapseJob.push((await timed(() => media.timelapse(request(i))))[0]);
  const [stripMs, strip] = await timed(() => makeDiffusionStrip(pipeline, request(i)));
  rows.strip.push(stripMs);
  stripBytes = strip.png.length;
}
await pipeline.close();

console.log(
  `model ${pipeline.modelName}, ${size}x${size}, ${steps} steps, count ${count}, ${sampler}, ${runs} runs (medians)`,
);
const g = median(rows.generate);
for (const [name, xs] of Object.entries(rows))
  console.log(
    `${name.padEnd(14)} ${median(xs).toFixed(1).padStart(8)} ms  (${(median(xs) / g).toFixed(2)} x generate)`,
  );
console.log(
  `film: ${filmFrames} frames, ${(filmBytes / 1024).toFixed(0)} KiB WebP; strip: ${(stripBytes / 1024).toFixed(0)} KiB PNG`,
);
