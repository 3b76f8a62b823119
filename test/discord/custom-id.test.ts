import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCustomId, decodeCustomId, CustomIdError, BUTTON_ACTIONS } from '../../src/discord/custom-id.ts';

test('every action round-trips, with and without an index', () => {
  for (const action of Object.values(BUTTON_ACTIONS)) {
    for (const index of [undefined, 1, 4]) {
      const id = encodeCustomId({ action, jobId: 'job_01HXYZ-abc', index });
      assert.ok(id.length <= 100);
      assert.deepEqual(
        decodeCustomId(id),
        index === undefined ? { action, jobId: 'job_01HXYZ-abc' } : { action, jobId: 'job_01HXYZ-abc', index },
      );
    }
  }
});

test('forged or foreign ids decode to null', () => {
  for (const id of [
    '',
    'ef',
    'ef:rr',
    'xx:rr:abc',
    'ef:zz:abc',
    'ef:rr:a b',
    'ef:u:abc:0',
    'ef:u:abc:10',
    'ef:u:abc:1:2',
    `ef:rr:${'a'.repeat(99)}`,
    'ef:rr:../../x',
  ]) {
    assert.equal(decodeCustomId(id), null, id);
  }
});

test('encode refuses what it could not decode', () => {
  assert.throws(() => encodeCustomId({ action: 'reroll', jobId: 'has:colon' }), CustomIdError);
  assert.throws(() => encodeCustomId({ action: 'pick', jobId: 'abc', index: 0 }), /between 1 and 9, got 0/);
});

test('the custom_id codec and the queue agree on the longest job id (one constant)', async () => {
  const { MAX_JOB_ID_LENGTH, isJobId, newJobId } = await import('../../src/queue/index.ts');
  const longest = 'a'.repeat(MAX_JOB_ID_LENGTH);
  const id = encodeCustomId({ action: 'pick', jobId: longest, index: 4 });
  assert.ok(id.length <= 100, `${id.length} characters`);
  assert.deepEqual(decodeCustomId(id), { action: 'pick', jobId: longest, index: 4 });
  assert.throws(() => encodeCustomId({ action: 'reroll', jobId: `${longest}a` }), CustomIdError);
  assert.equal(decodeCustomId(`ef:rr:${longest}a`), null);
  assert.ok(isJobId(newJobId()) && isJobId(longest) && !isJobId(`${longest}a`));
});
