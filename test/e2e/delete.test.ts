// 🗑 under a result: its owner or a moderator of its server deletes the message and the stored images;
// anyone else is refused and nothing changes; 🗑 on a U post removes that post and keeps the grid's images.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Harness, buttonIdFor, isFinal, paced, ephemeralAnswer } from './harness.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({ settings: { maxPending: 5 }, wrapEngine: (e) => paced(e, 5) });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

async function result(prompt: string, count = 1) {
  const final = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt, steps: 2, count } })
    .waitFor(isFinal);
  const jobId = decodeCustomId(buttonIdFor(final, '🗑'))!.jobId;
  const job = await h.queue.get(jobId);
  return { final, jobId, files: [...job!.result!.images, ...(job!.result!.grid ? [job!.result!.grid] : [])] };
}

test('🗑: another member is refused and nothing changes; the owner deletes the message and its stored images', async () => {
  const { final, jobId, files } = await result('a paper boat');
  assert.ok(files.every((f) => existsSync(f)));
  const bob = h.server.click({ user: h.users.bob, message: final, customId: buttonIdFor(final, '🗑') });
  await ephemeralAnswer(
    h,
    bob,
    /Only the person who asked for this image, or a moderator of its server, can delete it/,
  );
  assert.ok(h.server.message(final.id) !== undefined, 'still posted');
  assert.ok(
    files.every((f) => existsSync(f)),
    'still stored',
  );

  const alice = h.server.click({ user: h.users.alice, message: final, customId: buttonIdFor(final, '🗑') });
  await ephemeralAnswer(h, alice, /Deleted the image and its stored copy/);
  assert.equal(h.server.message(final.id), undefined, 'the message is gone');
  assert.ok(
    files.every((f) => !existsSync(f)),
    'the stored images are gone',
  );
  assert.equal((await h.queue.get(jobId))?.result, undefined);
  // Buttons elsewhere that name the job say it is gone rather than posting it.
  const again = await h.queue.get(jobId);
  assert.equal(again?.state, 'done');
});

test("🗑: a moderator of the server may delete a member's result", async () => {
  const { final, files } = await result('a kite');
  const mod = h.server.click({ user: h.users.moderator, message: final, customId: buttonIdFor(final, '🗑') });
  await ephemeralAnswer(h, mod, /Deleted the image/);
  assert.equal(h.server.message(final.id), undefined);
  assert.ok(files.every((f) => !existsSync(f)));
});

test('🗑 on a U post removes that post only: the grid and its stored images stay', async () => {
  const { final: grid, files } = await result('three pears', 2);
  const picked = await h.server
    .click({ user: h.users.alice, message: grid, customId: buttonIdFor(grid, 'U2') })
    .waitFor(isFinal);
  const del = h.server.click({ user: h.users.alice, message: picked, customId: buttonIdFor(picked, '🗑') });
  await ephemeralAnswer(h, del, /Deleted that post/);
  assert.equal(h.server.message(picked.id), undefined);
  assert.ok(h.server.message(grid.id) !== undefined);
  assert.ok(files.every((f) => existsSync(f)));
});

test('🗑 with a job id forged onto another of our messages is refused: nothing deleted', async () => {
  const { final: mine } = await result('a red kite');
  const { final: other, jobId: otherJob, files } = await result('a blue kite');
  const forged = buttonIdFor(other, '🗑');
  const click = h.server.click({ user: h.users.alice, message: mine, customId: forged, forge: true });
  await ephemeralAnswer(h, click, /does not belong to this message/);
  assert.ok(h.server.message(mine.id) !== undefined);
  assert.ok(h.server.message(other.id) !== undefined);
  assert.ok(files.every((f) => existsSync(f)));
  assert.ok((await h.queue.get(otherJob))?.result);
});
