// npm run bench:sdxl [-- --model DIR --threads 2 --no-torch --no-arena]
// Full-size SDXL base on this machine: an export of its architecture with random weights, built from diffusers'
// own classes by bench/sdxl-torch.py (each part's weights as float16 in model.onnx_data, as optimum --fp16 stores
// them, computed in float32 on the CPU):
//   /usr/bin/python3 bench/sdxl-torch.py export /tmp/sdxl/sdxl-full      (6.4 GB on disk, 16 minutes here)
// Prints (PyTorch first, in its own process: both at once would not fit in 24 GB): one U-Net call at batch 1
// and 1024x1024 in PyTorch eager, then our engine's load time for the whole folder, a small generation, the
// same U-Net call, the VAE decode at 1024x1024, and the peak RSS after each against the float32 weights (what
// the CPU holds).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { DiffusionPipeline } from '../src/engine/pipeline.ts';
import { gb, peakNow, residentNow } from './memory.ts';
import { torchEnv } from './torch-env.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: '/tmp/sdxl/sdxl-full' },
    threads: { type: 'string', default: '2' },
    'no-torch': { type: 'boolean', default: false },
    // the U-Net's activations returned after each call instead of kept for the next
    'no-arena': { type: 'boolean', default: false },
  },
});
const dir = resolve(values.model!);
const threads = Number(values.threads);
if (!existsSync(join(dir, 'unet', 'model.onnx'))) {
  console.error(`no export at ${dir}; make one with: /usr/bin/python3 bench/sdxl-torch.py export ${dir}`);
  process.exit(1);
}

const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter(
  (e) => e.isFile() && /^model\.onnx(_data)?$/.test(e.name),
);
const storedBytes = (part?: string) =>
  files
    .filter((e) => !part || e.parentPath.endsWith(part))
    .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
const peaks: [string, number, number][] = [];
const mark = (phase: string) => peaks.push([phase, peakNow(), residentNow()]);

// PyTorch first, in its own process, while this one holds nothing: both at once would not fit in 24 GB.
const torch = values['no-torch']
  ? undefined
  : spawnSync('/usr/bin/python3', [join(ROOT, 'bench', 'sdxl-torch.py'), 'time', String(threads)], {
      encoding: 'utf8',
      env: torchEnv(threads),
    });
const peer =
  torch?.status === 0
    ? (JSON.parse(torch.stdout.trim().split('\n').at(-1)!) as { unet_ms: number; params: number })
    : undefined;

const float32Bytes = 2 * storedBytes(); // float16 on disk, float32 in the CPU provider
console.log(
  `model: ${dir}, ${threads} threads, U-Net activations ${values['no-arena'] ? 'returned after each call' : 'kept for the next call'}`,
);
console.log(
  `weights: ${gb(storedBytes())} stored as float16 (U-Net ${gb(storedBytes('unet'))}, text encoders ${gb(storedBytes('text_encoder') + storedBytes('text_encoder_2'))}, VAE decoder ${gb(storedBytes('vae_decoder'))}); ${gb(float32Bytes)} as float32`,
);
if (peer)
  console.log(
    `PyTorch eager, one U-Net call, batch 1, 1024x1024: ${(peer.unet_ms / 1000).toFixed(1)} s (${(peer.params / 1e9).toFixed(2)} B parameters)`,
  );
else console.log(`PyTorch side not run: ${torch?.stderr.trim().split('\n').at(-1) ?? '--no-torch'}`);

const t0 = performance.now();
const pipeline = await DiffusionPipeline.load(dir, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  ...(values['no-arena'] ? { memoryArena: false } : {}),
});
const loadMs = performance.now() - t0;
mark('load');
console.log(`load (all four sessions): ${(loadMs / 1000).toFixed(1)} s`);

const m = pipeline.model;
const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const clock = { sessionRunMs: 0 };
const e0 = performance.now();
await pipeline.generate({
  prompt: 'a lighthouse at dusk',
  seed: 1,
  steps: 1,
  guidance: 0,
  width: 64,
  height: 64,
  sampler: 'euler',
  count: 1,
});
const smallMs = performance.now() - e0;
mark('a 64x64 generation (both text encoders, one tiny U-Net call)');
console.log(`a 1-step 64x64 generation (text encoders, U-Net, VAE): ${(smallMs / 1000).toFixed(1)} s`);

const feeds = {
  sample: new ort.Tensor('float32', random(4 * 128 * 128), [1, 4, 128, 128]),
  timestep: new ort.Tensor('float32', Float32Array.from([500]), []),
  encoder_hidden_states: new ort.Tensor('float32', random(77 * 2048), [1, 77, 2048]),
  text_embeds: new ort.Tensor('float32', random(1280), [1, 1280]),
  time_ids: new ort.Tensor('float32', Float32Array.from([1024, 1024, 0, 0, 1024, 1024]), [1, 6]),
};
const u0 = performance.now();
await m.unet.run(feeds, clock); // the first call at this size also plans its memory
const firstUnetMs = performance.now() - u0;
const u1 = performance.now();
await m.unet.run(feeds, clock);
const unetMs = performance.now() - u1;
mark('U-Net calls at 1024x1024');
console.log(
  `one U-Net call, batch 1, 1024x1024: ${(unetMs / 1000).toFixed(1)} s (engine; first call ${(firstUnetMs / 1000).toFixed(1)} s)${peer ? `, ${(peer.unet_ms / 1000).toFixed(1)} s (PyTorch eager)` : ''}`,
);
const v0 = performance.now();
await pipeline.decodeLatents(random(4 * 128 * 128), 1, 128, 128);
const vaeMs = performance.now() - v0;
mark('VAE decode at 1024x1024');
console.log(`VAE decode, 1024x1024: ${(vaeMs / 1000).toFixed(1)} s`);
const peakRss = process.resourceUsage().maxRSS * 1024;
await pipeline.close();

console.log(`peak RSS: ${gb(peakRss)}, ${(peakRss / float32Bytes).toFixed(2)} x the float32 weights`);
for (const [phase, peak, resident] of peaks)
  console.log(`  after ${phase}: peak ${gb(peak)}, resident ${gb(resident)}`);
