// What the engine benchmarks read from the environment, in one place so they measure the same thing.
import { join, resolve } from 'node:path';
import type { SamplerName } from '../src/engine/types.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** MODEL_DIR (default the embedded model), BENCH_RUNS, BENCH_STEPS, BENCH_COUNT, BENCH_SAMPLER, ORT_INTRA_OP_THREADS. */
export function engineBenchSettings(defaultRuns: number) {
  return {
    modelDir: process.env.MODEL_DIR ? resolve(process.env.MODEL_DIR) : join(ROOT, 'models', 'emoji-tiny'),
    runs: Number(process.env.BENCH_RUNS ?? defaultRuns),
    steps: Number(process.env.BENCH_STEPS ?? 20),
    count: Number(process.env.BENCH_COUNT ?? 1),
    sampler: (process.env.BENCH_SAMPLER ?? 'euler_a') as SamplerName,
    threads: process.env.ORT_INTRA_OP_THREADS ? Number(process.env.ORT_INTRA_OP_THREADS) : undefined,
  };
}
