// The other artists' drawings (training/styles.ts): joined to Noto by code point, rasterised on white.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { codeKey, loadStyle, OTHER_STYLES } from '../../training/styles.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

test('codeKey joins emoji-datasource codes to Iconify chars: lower case, no variation selector', () => {
  assert.equal(codeKey('2764-FE0F'), '2764');
  assert.equal(codeKey('1F3F4-200D-2620-FE0F'), '1f3f4-200d-2620');
  assert.equal(codeKey('1F600'), '1f600');
});

test('every style draws a grinning face and a red heart on white, and has nothing for a code it lacks', async () => {
  for (const style of OTHER_STYLES) {
    const [face, heart, none] = await loadStyle(ROOT, style, ['1F600', '2764-FE0F', '10FFFF'], 64);
    assert.equal(none, null, style.name);
    for (const img of [face, heart]) {
      assert.ok(img, style.name);
      assert.equal(img.width, 64);
      assert.equal(img.data.length, 64 * 64 * 3);
      assert.deepEqual([...img.data.subarray(0, 3)], [255, 255, 255], `${style.name}: the corner is white ground`);
    }
    const mean = (img: NonNullable<typeof face>, c: number) => {
      let s = 0;
      for (let i = c; i < img.data.length; i += 3) s += img.data[i];
      return s / (64 * 64);
    };
    // a yellow face (red and green above blue), a red heart (red above green)
    assert.ok(face && mean(face, 0) > mean(face, 2) + 40 && mean(face, 1) > mean(face, 2) + 20, style.name);
    assert.ok(heart && mean(heart, 0) > mean(heart, 1) + 40, style.name);
  }
});

test("each set's licence is its package's own, and none is share-alike", async () => {
  for (const style of OTHER_STYLES) {
    const pkg = JSON.parse(await readFile(join(ROOT, 'node_modules', style.pkg, 'package.json'), 'utf8'));
    assert.equal(pkg.license, style.licence, style.pkg);
    assert.ok(!/-SA\b/.test(style.licence), `${style.name}: ${style.licence}`);
  }
});
