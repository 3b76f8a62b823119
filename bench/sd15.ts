// npm run bench:sd15 [-- --model DIR --threads 2 --no-fuse --no-torch]
// Full-size Stable Diffusion 1.5 on this machine: an export of that architecture with random weights, built
// from diffusers' own classes by bench/sd15-torch.py (fp32, weights in model.onnx_data, as optimum writes):
//   /usr/bin/python3 bench/sd15-torch.py export /tmp/sd15/sd15-full      (about 4 GB; a few minutes)
// Prints: session load time, peak RSS against the weights' size, one U-Net call at batch 2 and 512x512
// (our engine, and PyTorch eager on the same module, seed and threads), its arithmetic and the share of this
// machine's float32 matrix-product rate it reaches, the VAE decode, and a whole 2-step 512x512 generation.
// Targets: load <= 30 s, peak RSS <= 1.3 x the weights, the U-Net at >= 50 % of the matrix-product rate.
// --no-fuse loads the graphs as exported (no fused attention), to see what the fusion gives.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { DiffusionPipeline } from '../src/engine/pipeline.ts';
import { latentToRgb } from '../src/engine/preview.ts';
import { gb, peakNow } from './memory.ts';
import { torchEnv } from './torch-env.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: '/tmp/sd15/sd15-full' },
    threads: { type: 'string', default: '2' },
    'no-fuse': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
  },
});
const dir = resolve(values.model!);
const threads = Number(values.threads);
if (!existsSync(join(dir, 'unet', 'model.onnx'))) {
  console.error(`no export at ${dir}; make one with: /usr/bin/python3 bench/sd15-torch.py export ${dir}`);
  process.exit(1);
}

const weightBytes = readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && /^model\.onnx(_data)?$/.test(e.name))
  .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
const peaks: [string, number][] = [];

const t0 = performance.now();
const pipeline = await DiffusionPipeline.load(dir, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  fuseAttention: !values['no-fuse'],
});
const loadMs = performance.now() - t0;
peaks.push(['load', peakNow()]);

const unet = pipeline.model.unet;
const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const feeds = {
  sample: new ort.Tensor('float32', random(2 * 4 * 64 * 64), [2, 4, 64, 64]),
  timestep: new ort.Tensor('int64', BigInt64Array.from([500n, 500n]), [2]),
  encoder_hidden_states: new ort.Tensor('float32', random(2 * 77 * 768), [2, 77, 768]),
};
const clock = { sessionRunMs: 0 };
await unet.run(feeds, clock); // warm-up
const u0 = performance.now();
await unet.run(feeds, clock);
const unetMs = performance.now() - u0;
peaks.push(['U-Net call', peakNow()]);
await pipeline.decodeLatents(random(4 * 64 * 64), 1, 64, 64); // warm-up
const v0 = performance.now();
await pipeline.decodeLatents(random(4 * 64 * 64), 1, 64, 64);
const vaeMs = performance.now() - v0;
peaks.push(['VAE decode', peakNow()]);
// Step previews at 512x512: the linear latent -> RGB map, and TAESD where the folder has taesd_decoder/.
const x0 = random(4 * 64 * 64);
const l0 = performance.now();
for (let i = 0; i < 10; i++)
  latentToRgb(x0, 0, 4, 64, 64, pipeline.model.latentRgbFactors, pipeline.model.latentRgbBias);
const linearMs = (performance.now() - l0) / 10;
let taesdMs: number | undefined;
const taesd = pipeline.model.taesd;
if (taesd) {
  const input = { [taesd.inputs.keys().next().value!]: new ort.Tensor('float32', x0, [1, 4, 64, 64]) };
  await taesd.run(input, clock); // warm-up
  const d0 = performance.now();
  await taesd.run(input, clock);
  taesdMs = performance.now() - d0;
}
const g0 = performance.now();
await pipeline.generate({
  prompt: 'a lighthouse at dusk',
  seed: 1,
  steps: 2,
  guidance: 7.5,
  width: 512,
  height: 512,
  sampler: 'euler',
  count: 1,
});
const generateMs = performance.now() - g0;
peaks.push(['generation', peakNow()]);
const peakRss = process.resourceUsage().maxRSS * 1024;
await pipeline.close();

const torch = values['no-torch']
  ? undefined
  : spawnSync('/usr/bin/python3', [join(ROOT, 'bench', 'sd15-torch.py'), 'time', String(threads)], {
      encoding: 'utf8',
      env: torchEnv(threads),
    });
const peer =
  torch?.status === 0
    ? (JSON.parse(torch.stdout.trim().split('\n').at(-1)!) as { unet_ms: number; gflop: number; sgemm_gflops: number })
    : undefined;

console.log(
  `model: ${dir} (${gb(weightBytes)} of weights), ${threads} threads, attention ${values['no-fuse'] ? 'as exported' : 'fused'}`,
);
console.log(`session load: ${(loadMs / 1000).toFixed(1)} s (target <= 30 s)`);
console.log(`peak RSS: ${gb(peakRss)}, ${(peakRss / weightBytes).toFixed(2)} x the weights (target <= 1.3 x)`);
console.log(`  peak after each phase: ${peaks.map(([phase, bytes]) => `${phase} ${gb(bytes)}`).join(', ')}`);
console.log(
  `one U-Net call, batch 2, 512x512: ${(unetMs / 1000).toFixed(1)} s (engine)${peer ? `, ${(peer.unet_ms / 1000).toFixed(1)} s (PyTorch eager)` : ''}`,
);
if (peer) {
  const rate = peer.gflop / (unetMs / 1000);
  console.log(
    `work: ${peer.gflop.toFixed(0)} GFLOP a call; engine ${rate.toFixed(0)} GFLOP/s, PyTorch ${(peer.gflop / (peer.unet_ms / 1000)).toFixed(0)} GFLOP/s`,
  );
  console.log(
    `a 2048x2048 float32 matrix product: ${peer.sgemm_gflops.toFixed(0)} GFLOP/s; the engine's U-Net reaches ${((100 * rate) / peer.sgemm_gflops).toFixed(0)} % of it (target >= 50 %)`,
  );
} else console.log(`PyTorch side not run: ${torch?.stderr.trim().split('\n').at(-1) ?? '--no-torch'}`);
console.log(`VAE decode, 512x512: ${(vaeMs / 1000).toFixed(1)} s`);
const share = (ms: number) => `${((100 * ms) / unetMs).toFixed(2)} % of a step's U-Net call`;
console.log(
  `a step preview at 512x512: linear map ${linearMs.toFixed(1)} ms (${share(linearMs)}); ${taesdMs === undefined ? 'no taesd_decoder/ in the folder' : `TAESD ${(taesdMs / 1000).toFixed(2)} s (${share(taesdMs)})`}`,
);
console.log(`a 2-step 512x512 generation (guidance 7.5, so batch 2): ${(generateMs / 1000).toFixed(1)} s`);
