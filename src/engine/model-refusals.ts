// What the engine does not run, refused at start in one line that names the file or folder: SDXL refiner
// and ControlNet folders, inpainting U-Nets, and ONNX files whose external weights are missing. Checked
// before any session opens, so a wrong MODEL_DIR fails in milliseconds rather than after a 10 GB load.
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelLoadError } from './errors.ts';

/** The folder's pipeline family, from model_index.json and its sub-folders: throws for what we do not run. */
export function refuseUnsupportedFamily(
  root: string,
  index: Record<string, unknown>,
  unetConfig: Record<string, unknown>,
): void {
  const className = typeof index._class_name === 'string' ? index._class_name : '';
  const indexFile = join(root, 'model_index.json');
  // The refiner has only the second text encoder and conditions on an aesthetic score: it finishes another
  // model's latents, it does not start from noise.
  if (unetConfig.requires_aesthetics_score === true || /Img2Img|Refiner/i.test(className)) {
    throw new ModelLoadError(
      unetConfig.requires_aesthetics_score === true ? join(root, 'unet', 'config.json') : indexFile,
      "expected a text-to-image model, got an SDXL refiner (it only refines another model's latents); use SDXL base, SDXL-Turbo or a Lightning export",
    );
  }
  if (existsSync(join(root, 'controlnet')) || /ControlNet/i.test(className)) {
    throw new ModelLoadError(
      existsSync(join(root, 'controlnet')) ? join(root, 'controlnet') : indexFile,
      'expected a text-to-image model, got a ControlNet pipeline; ControlNet is not supported',
    );
  }
  if (unetConfig.in_channels === 9 || /Inpaint/i.test(className)) {
    throw new ModelLoadError(
      join(root, 'unet', 'config.json'),
      'expected a text-to-image U-Net (4 input channels), got an inpainting one (9: latents, mask, masked image); inpainting is not supported',
    );
  }
}

/** Graph-only files (weights beside them) are small; larger ones hold their weights and need no scan. */
const SCAN_LIMIT = 64 * 1024 * 1024;

/**
 * The external weight files an ONNX file names (TensorProto.external_data "location" entries, as
 * optimum writes `model.onnx_data` for models over 2 GB) must exist beside it.
 */
export function refuseMissingExternalData(file: string): void {
  const size = statSync(file).size;
  if (size > SCAN_LIMIT) return;
  const bytes = Buffer.alloc(size);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, bytes, 0, size, 0);
  } finally {
    closeSync(fd);
  }
  for (const location of externalLocations(bytes)) {
    const weights = join(dirname(file), location);
    if (!existsSync(weights)) {
      throw new ModelLoadError(weights, `expected the external weights that ${file} names, but ${location} is missing`);
    }
  }
}

/** Each distinct value of a StringStringEntryProto { key: "location", value } in the protobuf bytes. */
export function externalLocations(bytes: Buffer): string[] {
  // field 1 (key), length 8, "location", then field 2 (value), a one-byte length and the name
  const marker = Buffer.from('\n\x08location\x12', 'latin1');
  const found = new Set<string>();
  for (let at = bytes.indexOf(marker); at >= 0; at = bytes.indexOf(marker, at + 1)) {
    const start = at + marker.length;
    const length = bytes[start];
    if (length === undefined || length >= 0x80) continue;
    const name = bytes.subarray(start + 1, start + 1 + length).toString('utf8');
    if (name && !name.includes('/') && !name.includes('\\') && name !== '..') found.add(name);
  }
  return [...found];
}
