// NumPy's .npy format, read: what `numpy.save(path, latents)` (or `torch_tensor.numpy()`) writes, so
// starting latents from another tool can be given to `npm run imagine -- --latents FILE`.
// Format: "\x93NUMPY", version, header length, a Python dict literal (descr, fortran_order, shape), data.
import { readFileSync } from 'node:fs';

export class NpyError extends Error {
  override name = 'NpyError';
}

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Little-endian float32 or float64 in C order, as float32 values. */
export function parseNpy(bytes: Buffer, what = 'the .npy file'): NpyArray {
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC))
    throw new NpyError(`expected ${what} to be a NumPy .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.subarray(start, start + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyError(`expected ${what} to have a .npy header with descr, fortran_order and shape`);
  }
  if (fortran === 'True') throw new NpyError(`expected ${what} in C order, got Fortran order`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(start + headerLength);
  const width = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (width === 0)
    throw new NpyError(`expected ${what} to hold little-endian float32 or float64 (<f4, <f8), got ${descr}`);
  if (body.length !== count * width) {
    throw new NpyError(
      `expected ${what} to hold ${count} values for shape (${shape.join(', ')}), got ${body.length / width}`,
    );
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = width === 4 ? body.readFloatLE(i * 4) : body.readDoubleLE(i * 8);
  return { shape, data };
}

export function readNpy(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}
