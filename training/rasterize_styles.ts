// Rasterises the other artists' drawings of every training emoji for prepare_data.py:
//   npx tsx training/rasterize_styles.ts [--side 64] [--out training/.work/styles]
// Writes <style>.bin (uint8, codes x side x side x 3, white where the set lacks the emoji) and manifest.json
// ({ side, codes, styles: [{ name, licence, artist, file, present: [0|1 per code] }] }).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { keptEmoji } from './nearest.ts';
import { loadStyle, OTHER_STYLES } from './styles.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    side: { type: 'string', default: '64' },
    out: { type: 'string', default: join(root, 'training', '.work', 'styles') },
  },
});
const side = Number(values.side);
if (!Number.isInteger(side) || side < 16 || side > 512)
  throw new Error(`--side must be an integer 16..512, got ${values.side}`);
const codes = (await keptEmoji(root)).map((e) => e.unified);
await mkdir(values.out, { recursive: true });
const styles = [];
for (const style of OTHER_STYLES) {
  const t0 = Date.now();
  const images = await loadStyle(root, style, codes, side);
  const bytes = Buffer.alloc(codes.length * side * side * 3, 255);
  images.forEach((img, i) => img && bytes.set(img.data, i * side * side * 3));
  const file = `${style.name}.bin`;
  await writeFile(join(values.out, file), bytes);
  const present = images.map((img) => (img ? 1 : 0));
  styles.push({ name: style.name, licence: style.licence, artist: style.artist, file, present });
  const have = present.reduce((a: number, b) => a + b, 0);
  console.log(`${style.name}: ${have} of ${codes.length} emoji (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
await writeFile(join(values.out, 'manifest.json'), JSON.stringify({ side, codes, styles }));
