// Delivery across bot restarts and server limits: finals of jobs that ended while no bot was running
// are delivered exactly once; waiting jobs' messages are refreshed; a result over the server's
// attachment limit is shrunk or explained; clicks on expired jobs are refused.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { Harness, buttonIds, buttonLabels, isFinal, paced, sleep, SINGLE_BUTTONS } from '../e2e/harness.ts';
import type { FakeUser, InteractionHandle } from '../support/discord/index.ts';
import type { JobRecord } from '../../src/queue/index.ts';
import { ephemeralAnswer } from './helpers.ts';

let h: Harness | undefined;
afterEach(async () => {
  const violations = h ? h.server.takeViolations() : [];
  await h?.close();
  h = undefined;
  assert.deepEqual(violations, []);
});

const finals = (i: InteractionHandle) => i.edits.filter((w) => w.message.id === i.originalId && isFinal(w.message));

/** Retries an assertion for up to `ms` (state that settles just after a message lands). */
async function eventually(check: () => Promise<void>, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(20);
    }
  }
}

function doneEvents(harness: Harness, count: number): Promise<JobRecord[]> {
  const seen: JobRecord[] = [];
  return new Promise((resolve) => {
    const off = harness.queue.on('done', (job) => {
      seen.push(job);
      if (seen.length === count) {
        off();
        resolve(seen);
      }
    });
  });
}

test("jobs that finish while no bot runs are delivered once when it starts; a waiting job's message is refreshed", async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0, maxPending: 5 }, wrapEngine: (e) => paced(e, 25) });
  // The worker waits while the three jobs are queued and shown, so no timing decides the order.
  await h.worker.stop();
  // Each is queued before the next is sent: three slashes in flight at once may be queued in any order.
  const queue = async (user: FakeUser, prompt: string) => {
    const i = h!.server.slash({ user, command: 'imagine', options: { prompt, steps: 8 } });
    await i.waitFor((m) => /Queued/.test(m.content));
    return i;
  };
  const first = await queue(h.users.alice, 'first lighthouse');
  const second = await queue(h.users.bob, 'second lighthouse');
  const third = await queue(h.users.alice, 'third lighthouse');

  // The bot goes away; the worker finishes two jobs that nobody delivers.
  await h.bot.stop();
  const twoDone = doneEvents(h, 2);
  h.worker.start();
  await twoDone;
  await h.worker.stop({ requeue: true });
  assert.equal(finals(first).length + finals(second).length, 0, 'nothing was delivered while the bot was down');
  const owed = await h.queue.pendingDeliveries();
  assert.deepEqual(
    owed.map((j) => j.request.prompt),
    ['third lighthouse', 'first lighthouse', 'second lighthouse'],
  );

  const restartedAt = Date.now();
  await h.startBot();
  await Promise.all([first.waitFor(isFinal), second.waitFor(isFinal)]);
  await third.waitFor(
    (m) =>
      /Queued: next in line/.test(m.content) &&
      third.edits.some((w) => w.at >= restartedAt && /next in line/.test(w.message.content)),
  );
  assert.equal(finals(first).length, 1);
  assert.equal(finals(second).length, 1);
  // Marked delivered right after the final edit is answered.
  await eventually(async () =>
    assert.deepEqual(
      (await h!.queue.pendingDeliveries()).map((j) => j.request.prompt),
      ['third lighthouse'],
      'delivered jobs are no longer owed',
    ),
  );

  // Another bot restart must not deliver them again.
  await h.bot.stop();
  await h.startBot();
  h.worker.start();
  await third.waitFor(isFinal);
  await sleep(200);
  assert.equal(finals(first).length, 1, 'first: one final across two restarts');
  assert.equal(finals(second).length, 1, 'second: one final across two restarts');
  assert.equal(finals(third).length, 1);
  await eventually(async () => assert.deepEqual(await h!.queue.pendingDeliveries(), []));
});

test("a result over the server's attachment limit is re-encoded at a lower upscale; if even native size is too big, the user is told", async () => {
  // Shown at 512 px (8x the 64 px model output); the limit lies between the native size and that.
  h = await Harness.start({
    settings: { cooldownSeconds: 0 },
    bot: { displaySide: 512 },
    server: { attachmentSizeLimit: 1000 },
  });
  const i = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a big red balloon', steps: 3, seed: 11 },
  });
  const final = await i.waitFor(isFinal);
  const png = final.attachments[0];
  assert.ok(png.size <= 1000, `attachment of ${png.size} bytes`);
  const meta = await sharp(png.data).metadata();
  assert.ok(meta.width! < 512 && meta.width! >= 64, `re-encoded at ${meta.width} px`);
  assert.match(
    final.content,
    /Shown at [1-4]× \(the full size, [\d.]+ KiB, is over this server's 1000 bytes upload limit\)/,
  );
  const job = (await h.queue.listForUser(h.users.alice.id, { finished: 1 }))[0];
  const stored = await sharp(job.result!.images[0]).metadata();
  assert.equal(stored.width, 64, "the stored file is the model's native size; the front end scales it for display");

  // A 4-image grid must fit too, or be explained.
  const grid = h.server.slash({
    user: h.users.bob,
    command: 'imagine',
    options: { prompt: 'four small balloons', steps: 2, count: 4, seed: 5 },
  });
  const gridFinal = await grid.waitFor(
    (m) => m.components.length > 0 && /balloons/.test(m.content) && !/Step|Queued/.test(m.content),
  );
  if (gridFinal.attachments.length > 0) {
    assert.ok(gridFinal.attachments[0].size <= 1000);
    assert.match(gridFinal.content, /Shown at \d×/);
  } else {
    assert.match(
      gridFinal.content,
      /could not be attached: even at its native size it is [\d.]+ (KiB|bytes), over this server's 1000 bytes upload limit/,
    );
  }
  // The U button posts one image alone: it is fitted too.
  const u1 = h.server.click({
    user: h.users.bob,
    message: gridFinal,
    customId: buttonIds(gridFinal)[buttonLabels(gridFinal).indexOf('U1')],
  });
  const picked = await u1.waitFor((m) => m.attachments.length > 0);
  assert.ok(picked.attachments[0].size <= 1000);
});

test('when even the native size is over the limit, the final says so clearly (no silent failure)', async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0 }, server: { attachmentSizeLimit: 300 } });
  const i = h.server.slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a tiny limit', steps: 2 } });
  const final = await i.waitFor((m) => m.components.length > 0 && /could not be attached/.test(m.content));
  assert.equal(final.attachments.length, 0);
  assert.match(final.content, /even at its native size it is \d+ bytes, over this server's 300 bytes upload limit/);
  assert.deepEqual(buttonLabels(final), SINGLE_BUTTONS, 'the buttons still work');
  await eventually(async () => assert.deepEqual(await h!.queue.pendingDeliveries(), [], 'it counts as delivered'));
});

test('clicks on an expired (pruned) job are refused ephemerally and queue nothing', async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0 }, queue: { retentionMs: 1 } });
  const i = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a short-lived cat', steps: 2, count: 2 },
  });
  const final = await i.waitFor(isFinal);
  await sleep(5);
  assert.equal(await h.queue.prune(), 1, 'the finished job is pruned with its files');
  const stats = h.queue.stats().byState;
  for (const [n, id] of buttonIds(final).entries()) {
    const click = h.server.click({ user: n % 2 ? h.users.bob : h.users.alice, message: final, customId: id });
    await ephemeralAnswer(h, click, /no longer available \(it may have expired\)/);
  }
  assert.deepEqual(h.queue.stats().byState, stats);
});

test('a final that cannot be sent after its retries is sent by the sweep, not left at its last preview', async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0 }, bot: { finalAttempts: 2, retryOwedMs: 300 } });
  const failing = h.server.inject({ method: 'PATCH', path: /\/messages\/@original$/, status: 503, times: 1000 });
  const i = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a stubborn rock', steps: 2 },
  });
  await h.server.waitFor(() => failing.hits >= 2 || undefined, 'the final edit to fail twice');
  await eventually(async () => assert.equal(h!.bot.deliverer.owedCount, 1), 5000);
  assert.equal(finals(i).length, 0);
  failing.cancel();
  const final = await i.waitFor(isFinal, 10_000);
  assert.match(final.content, /a stubborn rock/);
  await eventually(async () => assert.equal(h!.bot.deliverer.owedCount, 0));
  const [job] = await h.queue.listForUser(h.users.alice.id, { finished: 1 });
  await eventually(async () => assert.equal((await h!.queue.get(job.id))?.delivery?.delivered, true));
});
