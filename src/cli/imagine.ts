// npm run imagine -- "<prompt>" [flags]: one request through the engine, PNGs on disk. Exit 2 on bad input.
import { randomSeed } from '../engine/noise.ts';
import { NpyError, readNpy } from './npy.ts';
import { readModelDefaults } from '../engine/model-defaults.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WorkerPipeline } from '../engine/worker-pipeline.ts';
import { GenerationCancelledError, InvalidRequestError, ModelLoadError } from '../engine/errors.ts';
import { encodePng, imageParameters, makeGrid } from '../engine/images.ts';
import { stderrLogger } from '../engine/logger.ts';
import type { GenerateRequest, GenerateResult } from '../engine/types.ts';
import { parseCliArgs, UsageError, USAGE } from './args.ts';
import { progressReporter } from './progress.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new UsageError(`expected ${name} to be a positive whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** FILE.png -> FILE-1.png, FILE-2.png ... */
export function singlePath(out: string, index: number): string {
  return out.toLowerCase().endsWith('.png') ? `${out.slice(0, -4)}-${index}.png` : `${out}-${index}.png`;
}

async function main(): Promise<number> {
  const args = parseCliArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const provider = process.env.EXECUTION_PROVIDER || 'cpu';
  if (provider !== 'cpu' && provider !== 'cuda')
    throw new UsageError(`expected EXECUTION_PROVIDER to be cpu or cuda, got ${JSON.stringify(provider)}`);
  const modelDir = process.env.MODEL_DIR ? resolve(process.env.MODEL_DIR) : join(PROJECT_ROOT, 'models', 'emoji-tiny');
  const pipeline = await WorkerPipeline.load(modelDir, {
    executionProvider: provider,
    intraOpNumThreads: envInt('ORT_INTRA_OP_THREADS'),
    interOpNumThreads: envInt('ORT_INTER_OP_THREADS'),
    logger: { ...stderrLogger, info() {} },
  });
  try {
    const seed = args.seed ?? randomSeed();
    const defaults = readModelDefaults(modelDir);
    const request: GenerateRequest = {
      prompt: args.prompt,
      negativePrompt: args.negativePrompt,
      seed,
      steps: args.steps ?? defaults.steps,
      guidance: args.guidance ?? defaults.guidance,
      width: args.width ?? pipeline.defaultSize,
      height: args.height ?? pipeline.defaultSize,
      sampler: args.sampler ?? defaults.sampler,
      count: args.count,
    };
    const progress = progressReporter(process.stderr);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    let result: GenerateResult;
    try {
      result = await pipeline.generate(request, {
        onStep: progress.onStep,
        signal: controller.signal,
        previews: false,
        ...(args.latents ? { startLatents: readLatents(args.latents) } : {}),
      });
    } finally {
      process.off('SIGINT', onSigint);
      progress.done();
    }
    const out = resolve(args.out ?? `imagine-${seed}.png`);
    mkdirSync(dirname(out), { recursive: true });
    const meta = (imageSeed: number) => imageParameters(request, imageSeed, result.model);
    const written: string[] = [];
    if (result.images.length === 1) {
      writeFileSync(out, await encodePng(result.images[0], meta(seed)));
      written.push(out);
    } else {
      const grid = makeGrid(result.images);
      writeFileSync(out, await encodePng(grid, { ...meta(seed), Seeds: result.seeds.join(' ') }));
      written.push(out);
      for (const [i, image] of result.images.entries()) {
        const path = singlePath(out, i + 1);
        writeFileSync(path, await encodePng(image, meta(result.seeds[i])));
        written.push(path);
      }
    }
    process.stdout.write(`seed ${seed}${result.seeds.length > 1 ? ` (images: ${result.seeds.join(', ')})` : ''}\n`);
    for (const path of written) process.stdout.write(`wrote ${path}\n`);
    process.stderr.write(
      `${result.images.length} image(s) in ${(result.timings.totalMs / 1000).toFixed(2)} s (${result.timings.sessionRunMs.toFixed(0)} ms in ONNX)\n`,
    );
    return 0;
  } finally {
    await pipeline.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof InvalidRequestError) {
      process.stderr.write(`imagine: ${error.message}\n${USAGE}\n`);
      process.exit(2);
    }
    if (error instanceof ModelLoadError) {
      process.stderr.write(
        `imagine: cannot load the model: ${error.message}\n(set MODEL_DIR to a model folder in the diffusers ONNX layout)\n`,
      );
      process.exit(1);
    }
    if (error instanceof GenerationCancelledError) {
      process.stderr.write(`imagine: ${error.message}\n`);
      process.exit(130);
    }
    process.stderr.write(`imagine: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

/** --latents FILE: a .npy file; a bad one is a usage error naming it. */
function readLatents(path: string): Float32Array {
  try {
    return readNpy(resolve(path)).data;
  } catch (error) {
    if (error instanceof NpyError) throw new UsageError(`--latents: ${error.message}`);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`--latents: no file ${path}`);
    throw error;
  }
}
