// Our images against a reference implementation's, as the golden files hold them (base64 of uint8 HWC bytes).
import assert from 'node:assert/strict';
import type { RawImage } from '../../src/engine/types.ts';

/** Asserts each image is within `tolerance` of its reference, and that the references are not flat. */
export function assertMatchesGolden(ours: readonly RawImage[], references: readonly string[], tolerance = 2): void {
  let worst = 0;
  let spread = 0;
  assert.equal(ours.length, references.length, 'as many images as the reference');
  for (const [i, encoded] of references.entries()) {
    const reference = Buffer.from(encoded, 'base64');
    const data = ours[i].data;
    assert.equal(data.length, reference.length);
    for (let p = 0; p < data.length; p++) worst = Math.max(worst, Math.abs(data[p] - reference[p]));
    spread = Math.max(spread, Math.max(...reference) - Math.min(...reference));
  }
  assert.ok(spread > 20, 'the reference images are not flat (a difference would show)');
  assert.ok(worst <= tolerance, `largest pixel difference ${worst}/255`);
}
