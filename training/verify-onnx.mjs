// Runs the exported ONNX models in onnxruntime-node on the reference cases export.py wrote (computed by
// PyTorch with the same fp16-rounded weights, at batch/spatial sizes other than the traced ones) and
// prints the largest difference and the I/O metadata.
//   node training/verify_onnx.mjs [models/emoji-tiny] [training/.work/verify]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const modelDir = process.argv[2] ?? 'models/emoji-tiny';
const verDir = process.argv[3] ?? 'training/.work/verify';
const manifest = JSON.parse(readFileSync(join(verDir, 'manifest.json'), 'utf8'));

function load(spec) {
  const buf = readFileSync(join(verDir, spec.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  if (spec.dtype === 'int32') return new ort.Tensor('int32', new Int32Array(ab), spec.dims);
  if (spec.dtype === 'float32') return new ort.Tensor('float32', new Float32Array(ab), spec.dims);
  throw new Error(`unexpected dtype ${spec.dtype}`);
}

let worst = 0;
for (const [name, c] of Object.entries(manifest)) {
  const session = await ort.InferenceSession.create(join(modelDir, name, 'model.onnx'));
  const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, s]) => [k, load(s)]));
  const t0 = performance.now();
  const out = await session.run(feeds);
  const ms = performance.now() - t0;
  const meta = (m) => m.map((x) => `${x.name}:${x.type}[${x.shape?.join(',')}]`).join(' ');
  console.log(`${name}: in ${meta(session.inputMetadata)} -> out ${meta(session.outputMetadata)}`);
  for (const [k, s] of Object.entries(c.outputs)) {
    const want = load(s).data;
    const got = out[k];
    if (!got) throw new Error(`${name}: missing output ${k}`);
    if (got.dims.join(',') !== s.dims.join(','))
      throw new Error(`${name}.${k}: expected dims ${s.dims}, got ${got.dims}`);
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < want.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(want[i] - got.data[i]));
      maxRef = Math.max(maxRef, Math.abs(want[i]));
    }
    worst = Math.max(worst, maxDiff / Math.max(maxRef, 1));
    console.log(
      `  ${k} dims [${got.dims}] max |onnx - torch| ${maxDiff.toExponential(2)} (max |ref| ${maxRef.toFixed(3)}) ${ms.toFixed(1)} ms`,
    );
  }
}
if (worst > 2e-3) {
  console.error(`FAIL: relative difference ${worst} above 2e-3`);
  process.exit(1);
}
console.log('OK');
