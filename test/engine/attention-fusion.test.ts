// Attention fusion on exports built from diffusers' own classes: which blocks are replaced, that the model
// is written back losslessly, and that fused and as-exported sessions compute the same outputs (also with
// the weights in model.onnx_data, as every full-size SD 1.5 export keeps them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type ort from 'onnxruntime-node';
import { fuseAttention } from '../../src/engine/graph/attention-fusion.ts';
import { readGraph, writeGraph } from '../../src/engine/graph/onnx-model.ts';
import { concat, lenField, readFields, stringField, varintField } from '../../src/engine/graph/wire.ts';
import { loadModel } from '../../src/engine/model.ts';
import { floatTensor, ModelSession, timestepTensor, toFloat32 } from '../../src/engine/session.ts';
import { silentLogger } from '../../src/engine/logger.ts';

const MODELS = join(import.meta.dirname, '..', 'fixtures', 'models');
const file = (model: string, part: string) => join(MODELS, model, part, 'model.onnx');
const NO_FP16 = { float16: false };

test('a diffusers U-Net has its 32 attention blocks fused and the VAE its one; CLIP masked attention is left alone', () => {
  for (const model of ['sd15-tiny', 'sd15-tiny-fp16', 'sd2-tiny']) {
    const unet = fuseAttention(readFileSync(file(model, 'unet')), NO_FP16);
    assert.equal(unet?.fused, 32, `${model} unet`);
    assert.ok(unet.nodesAfter < unet.nodesBefore / 2, 'the shape arithmetic around each block goes too');
    assert.equal(fuseAttention(readFileSync(file(model, 'vae_decoder')), NO_FP16)?.fused, 1, `${model} vae`);
    // the causal mask is added before the softmax: not the pattern (a mask is not zeros)
    assert.equal(fuseAttention(readFileSync(file(model, 'text_encoder')), NO_FP16), undefined, `${model} text`);
  }
  assert.equal(fuseAttention(readFileSync(file('tiny-fp32', 'unet')), NO_FP16), undefined, 'no attention, no change');
});

test('a graph written back with its own nodes is the stored model byte for byte', () => {
  for (const model of ['sd15-tiny', 'sd2-tiny']) {
    const bytes = readFileSync(file(model, 'unet'));
    const graph = readGraph(bytes);
    assert.ok(Buffer.from(writeGraph(graph, graph.nodes, {})).equals(bytes), model);
  }
});

test('bytes that are not a model are refused with a RangeError, and the session reports the file', async () => {
  const bytes = readFileSync(file('sd15-tiny', 'unet'));
  assert.throws(() => fuseAttention(bytes.subarray(0, 5000), NO_FP16), RangeError);
  const dir = mkdtempSync(join(tmpdir(), 'fusion-'));
  try {
    writeFileSync(join(dir, 'model.onnx'), bytes.subarray(0, 5000));
    await assert.rejects(ModelSession.open(join(dir, 'model.onnx'), {}, silentLogger), /model\.onnx/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Random inputs of the declared types: latents [2, 4, 8, 8] for a U-Net, a latent sample for a VAE. */
function feeds(session: ModelSession): Record<string, ort.Tensor> {
  let seed = 7;
  const random = (n: number) =>
    Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1);
  const type = (name: string) => session.requireInput(name).type;
  if (session.inputs.has('latent_sample'))
    return { latent_sample: floatTensor(random(4 * 8 * 8), [1, 4, 8, 8], type('latent_sample')) };
  const hidden = Number(session.requireInput('encoder_hidden_states').shape[2]) || 16;
  return {
    sample: floatTensor(random(2 * 4 * 8 * 8), [2, 4, 8, 8], type('sample')),
    timestep: timestepTensor(421, session.requireInput('timestep'), 2, session.requireInput('sample').shape[0]),
    encoder_hidden_states: floatTensor(random(2 * 77 * hidden), [2, 77, hidden], type('encoder_hidden_states')),
  };
}

async function agree(modelFile: string, label: string): Promise<void> {
  const plain = await ModelSession.open(modelFile, { fuseAttention: false }, silentLogger);
  const fused = await ModelSession.open(modelFile, {}, silentLogger);
  try {
    const input = feeds(plain);
    const a = toFloat32(Object.values(await plain.run(input, { sessionRunMs: 0 }))[0]);
    const b = toFloat32(Object.values(await fused.run(input, { sessionRunMs: 0 }))[0]);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    assert.ok(scale > 0 && Number.isFinite(diff), `${label}: outputs are numbers`);
    // float16 outputs round at 2^-11 relative; float32 ones differ only by summation order
    const tolerance = label.includes('fp16') ? 2e-3 : 1e-5;
    assert.ok(diff <= tolerance * scale, `${label}: max difference ${diff} of ${scale}`);
  } finally {
    await plain.release();
    await fused.release();
  }
}

test('fused and as-exported sessions give the same outputs: SD 1.5, its --fp16 form, SD 2.x (upcast), the VAE', async () => {
  for (const model of ['sd15-tiny', 'sd15-tiny-fp16', 'sd2-tiny']) {
    await agree(file(model, 'unet'), `${model} unet`);
    await agree(file(model, 'vae_decoder'), `${model} vae_decoder`);
  }
});

/** A copy of a U-Net folder with every initializer over 256 bytes moved into model.onnx_data, as optimum writes it. */
function externalCopy(model: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fusion-external-'));
  const out = join(dir, 'unet');
  mkdirSync(out);
  copyFileSync(join(MODELS, model, 'unet', 'config.json'), join(out, 'config.json'));
  const graph = readGraph(readFileSync(file(model, 'unet')));
  const data: Uint8Array[] = [];
  let offset = 0;
  const entry = (key: string, value: string) => lenField(13, concat([stringField(1, key), stringField(2, value)]));
  const graphFields = graph.graphFields.map((f) => {
    if (f.no !== 5) return f;
    const tensor = readFields(f.bytes);
    const raw = tensor.find((t) => t.no === 9)?.bytes;
    if (!raw || raw.length <= 256) return f;
    data.push(raw);
    const kept = tensor.filter((t) => t.no !== 9).map((t) => t.raw);
    const payload = concat([
      ...kept,
      entry('location', 'model.onnx_data'),
      entry('offset', String(offset)),
      entry('length', String(raw.length)),
      varintField(14, 1),
    ]);
    offset += raw.length;
    return { ...f, raw: lenField(5, payload) };
  });
  writeFileSync(join(out, 'model.onnx'), writeGraph({ ...graph, graphFields }, graph.nodes, {}));
  writeFileSync(join(out, 'model.onnx_data'), concat(data));
  assert.ok(data.length > 10, 'weights to move');
  return dir;
}

test('a fused U-Net whose weights sit in model.onnx_data loads them from its own folder and agrees', async () => {
  const dir = externalCopy('sd15-tiny');
  try {
    const [graphBytes, original] = [join(dir, 'unet', 'model.onnx'), file('sd15-tiny', 'unet')].map(
      (f) => readFileSync(f).length,
    );
    assert.ok(graphBytes < original / 2, `the weights left the graph file (${graphBytes} of ${original} bytes)`);
    assert.equal(fuseAttention(readFileSync(join(dir, 'unet', 'model.onnx')), NO_FP16)?.fused, 32);
    await agree(join(dir, 'unet', 'model.onnx'), 'sd15-tiny unet, external weights');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loading a model says which parts had their attention fused', async () => {
  const lines: { msg?: string; obj: Record<string, unknown> }[] = [];
  const logger = { ...silentLogger, info: (obj: object, msg?: string) => lines.push({ msg, obj: obj as never }) };
  const model = await loadModel(join(MODELS, 'sd2-tiny'), { logger });
  try {
    const fused = lines.filter((l) => l.msg === 'attention fused').map((l) => [l.obj.part, l.obj.blocks]);
    assert.deepEqual(fused, [
      ['unet', 32],
      ['vae_decoder', 1],
      ['vae_encoder', 1],
    ]);
    assert.ok(!JSON.stringify(lines).includes(MODELS), 'no host path in the log');
  } finally {
    await model.release();
  }
});
