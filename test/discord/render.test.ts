import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalPayload, pickPayload, progressPayload, queuedPayload, escapeMarkdown } from '../../src/discord/render.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';
import type { JobRecord } from '../../src/queue/index.ts';

function job(count: number, prompt = 'a cat'): JobRecord {
  return {
    id: 'a'.repeat(32),
    owner: { userId: '42', guildId: '1', channelId: '2' },
    request: { prompt, seed: 9, steps: 20, guidance: 7.5, width: 64, height: 64, sampler: 'euler_a', count },
    kind: 'new',
    state: 'done',
    createdAt: 0,
    result: {
      images: Array.from({ length: count }, (_, i) => `/tmp/${i}.png`),
      seeds: Array.from({ length: count }, (_, i) => 9 + i),
      model: 'm',
      elapsedMs: 1,
    },
  };
}

const file = { name: 'x.png', data: Buffer.from('x') };

test("every message keeps Discord's component rules: ≤5 rows, ≤5 buttons a row, unique ids ≤100 chars", () => {
  const payloads = [
    finalPayload(job(1), file, 1),
    finalPayload(job(4), file, 4),
    finalPayload(job(2), file, 2),
    pickPayload(job(4), 3, file, '7'),
    queuedPayload(job(1), 3, 5000),
    progressPayload(job(1), 3, 20, 1000),
  ];
  for (const p of payloads) {
    assert.ok(p.components.length <= 5);
    const ids = p.components.flatMap((row) => {
      assert.ok(row.components.length >= 1 && row.components.length <= 5);
      return row.components.map((c) => ('custom_id' in c ? c.custom_id : ''));
    });
    assert.equal(new Set(ids).size, ids.length, 'unique custom_ids');
    for (const id of ids) {
      assert.ok(id.length >= 1 && id.length <= 100);
      assert.ok(decodeCustomId(id), id);
    }
    assert.ok(p.content.length <= 2000);
  }
});

test("a picked image's buttons carry the image index", () => {
  const ids = pickPayload(job(4), 3, file, '7').components.flatMap((row) =>
    row.components.map((c) => decodeCustomId('custom_id' in c ? c.custom_id : '')!),
  );
  assert.deepEqual(
    ids.map((r) => [r.action, r.index]),
    [
      ['varySubtle', 3],
      ['varyStrong', 3],
      ['reroll', 3],
      ['timelapse', 3],
      ['delete', 3],
      ['upscale', 3],
      ['remix', 3],
      ['recipe', 3],
      ['emoji', 3],
    ],
  );
});

test('long prompts are clipped; markdown and mentions in prompts are neutralised', () => {
  const p = finalPayload(job(1, '*'.repeat(5000)), file, 1);
  assert.ok(p.content.length <= 2000);
  assert.equal(escapeMarkdown('**bold** @everyone'), '\\*\\*bold\\*\\* @\u200beveryone');
  assert.match(queuedPayload(job(1), 1, 0).content, /next in line/);
  assert.match(progressPayload(job(1), 5, 20, 65_000).content, /Step 5\/20 · ETA 1 min 5 s/);
});
