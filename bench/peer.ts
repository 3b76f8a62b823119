// npm run bench:peer [-- --runs 5 --steps 20 --guidance 7.5 --ckpt training/.work/gpu --model models/emoji-tiny]
// The same model sampled by its PyTorch code (training/peer_torch.py: eager, CPU, Debian torch) and by our engine
// (onnxruntime-node), same sampler (Euler ancestral, trailing spacing), steps, guidance and batch (4 images).
// Prints the median time of a request on each and the ratio. Target (issue 3): ours >= 4x faster.
// The PyTorch side needs the checkpoints (gitignored; train.py writes them); without them it is skipped, said so.
// Both sides get 2 threads. On a shared 2-core machine other processes skew wall time: rerun when busy.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DiffusionPipeline } from '../src/engine/pipeline.ts';
import { WorkerPipeline } from '../src/engine/worker-pipeline.ts';
import type { GenerateRequest, ImageGenerator } from '../src/engine/types.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    steps: { type: 'string', default: '20' },
    guidance: { type: 'string', default: '7.5' },
    ckpt: { type: 'string', default: join(ROOT, 'training', '.work', 'gpu') },
    model: { type: 'string', default: join(ROOT, 'models', 'emoji-tiny') },
  },
});
const runs = Number(values.runs);
const steps = Number(values.steps);
const guidance = Number(values.guidance);
const BATCH = 4;
const THREADS = 2;
const PROMPT = 'a smiling red apple';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
interface Side {
  ms: number;
  min: number;
  detail: string;
}

function torchSide(): Side | { skipped: string } {
  const ckpt = resolve(values.ckpt);
  const missing = ['ae.pt', 'text_encoder.pt', 'unet.pt', 'log.json'].filter((f) => !existsSync(join(ckpt, f)));
  if (missing.length) return { skipped: `checkpoint folder ${ckpt} lacks ${missing.join(', ')} (gitignored; made by training/train.py)` };
  const jemalloc = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
  // design.md's setup: jemalloc with decay off, OpenBLAS, two threads
  const env = { ...process.env, MALLOC_CONF: 'dirty_decay_ms:-1,muzzy_decay_ms:-1', OMP_NUM_THREADS: String(THREADS), OPENBLAS_NUM_THREADS: String(THREADS), TORCH_THREADS: String(THREADS), ...(existsSync(jemalloc) ? { LD_PRELOAD: jemalloc } : {}) };
  const args = [join(ROOT, 'training', 'peer_torch.py'), '--ckpt', ckpt, '--runs', String(runs), '--steps', String(steps), '--batch', String(BATCH), '--guidance', String(guidance), '--prompt', PROMPT];
  const r = spawnSync('/usr/bin/python3', args, { env, encoding: 'utf8' });
  if (r.status !== 0) return { skipped: `training/peer_torch.py failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}` };
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { torch: string; runs_ms: number[] };
  return { ms: median(out.runs_ms), min: Math.min(...out.runs_ms), detail: `torch ${out.torch} eager, runs ${out.runs_ms.map(Math.round).join('/')} ms` };
}

async function engineSide(engine: ImageGenerator & { close(): Promise<void> }, size: number): Promise<Side> {
  const request = (seed: number): GenerateRequest => ({ prompt: PROMPT, negativePrompt: '', seed, steps, guidance, width: size, height: size, sampler: 'euler_a', count: BATCH });
  await engine.generate(request(0)); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await engine.generate(request(1000 * (i + 1)), { previews: false });
    ms.push(performance.now() - start);
  }
  await engine.close();
  return { ms: median(ms), min: Math.min(...ms), detail: `runs ${ms.map(Math.round).join('/')} ms` };
}

console.log(`bench:peer: "${PROMPT}", batch ${BATCH}, ${steps} Euler-ancestral steps, guidance ${guidance}, ${THREADS} threads, median and fastest of ${runs} after a warm-up`);
const torch = torchSide();
const settings = { intraOpNumThreads: THREADS, executionProvider: 'cpu' as const };
const inThread = await DiffusionPipeline.load(resolve(values.model), settings);
const size = inThread.defaultSize;
const ours = await engineSide(inThread, size);
const worker = await engineSide(await WorkerPipeline.load(resolve(values.model), settings), size);

const line = (name: string, ms: number, detail: string) => console.log(`${name.padEnd(34)} ${(ms / 1000).toFixed(3).padStart(7)} s   (${detail})`);
if ('skipped' in torch) console.log(`PyTorch                            skipped: ${torch.skipped}`);
else line('PyTorch (training/peer_torch.py)', torch.ms, torch.detail);
line('engine, DiffusionPipeline', ours.ms, ours.detail);
line('engine, WorkerPipeline (the bot)', worker.ms, worker.detail);
if (!('skipped' in torch)) {
  // medians, and fastest runs (the least disturbed by other processes on a shared machine)
  console.log(`ratio PyTorch / engine, medians: ${(torch.ms / ours.ms).toFixed(1)}x in-thread, ${(torch.ms / worker.ms).toFixed(1)}x worker thread (target >= 4x)`);
  console.log(`ratio PyTorch / engine, fastest runs: ${(torch.min / ours.min).toFixed(1)}x in-thread, ${(torch.min / worker.min).toFixed(1)}x worker thread`);
}
console.log(`batch of ${BATCH} under 3 s (issue 3): ${worker.ms < 3000 ? 'yes' : 'no'}`);
