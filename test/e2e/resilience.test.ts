// Fair sharing, a restart mid-job, injected 429/500, and results after the interaction token expired.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, isFinal, paced } from './harness.ts';
import type { InteractionHandle } from '../support/discord/index.ts';

let h: Harness | undefined;
afterEach(async () => {
  const violations = h ? [...h.server.violations] : [];
  await h?.close();
  h = undefined;
  assert.deepEqual(violations, []);
});

const finalsOf = (i: InteractionHandle) => i.edits.filter((w) => w.message.id === i.originalId && isFinal(w.message));

test("two users share fairly: one job of bob's does not wait behind all of alice's", async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0, maxPending: 5 }, wrapEngine: (e) => paced(e, 25) });
  const alice = [1, 2, 3, 4].map((n) =>
    h!.server.slash({ user: h!.users.alice, command: 'imagine', options: { prompt: `alice picture ${n}`, steps: 6 } }),
  );
  await Promise.all(alice.map((i) => i.acknowledged()));
  await alice[3].waitFor((m) => /Queued: position \d in the queue/.test(m.content));
  const bob = h.server.slash({ user: h.users.bob, command: 'imagine', options: { prompt: 'bob picture', steps: 6 } });
  const order: string[] = [];
  await Promise.all(
    [...alice, bob].map((i) =>
      i.waitFor(isFinal).then((m) => order.push(/(alice picture \d|bob picture)/.exec(m.content)![1])),
    ),
  );
  assert.ok(order.indexOf('bob picture') < 3, `bob's job should finish before alice's third, got ${order.join(', ')}`);
  assert.deepEqual(
    order.filter((n) => n.startsWith('alice')),
    ['alice picture 1', 'alice picture 2', 'alice picture 3', 'alice picture 4'],
    'first in, first out within a user',
  );
});

test('a restart mid-job still delivers the final, exactly once, to the same message', async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0 }, wrapEngine: (e) => paced(e, 60) });
  const i = h.server.slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a lighthouse', steps: 20 } });
  await i.waitFor((m) => /Step \d+\/20/.test(m.content));
  await h.restart();
  const final = await i.waitFor(isFinal);
  assert.match(final.content, /a lighthouse/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(finalsOf(i).length, 1, 'one final edit');
  assert.equal(h.server.channelMessages().filter((m) => m.kind === 'channel').length, 0, 'no channel fallback needed');
  const jobs = await h.queue.listForUser(h.users.alice.id, { finished: 5 });
  assert.equal(jobs.filter((j) => j.state === 'done').length, 1);
});

test('injected 429 and 500 on the message edits: every final is still delivered, one edit in flight', async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0, maxPending: 5 }, wrapEngine: (e) => paced(e, 20) });
  const limited = h.server.inject({
    method: 'PATCH',
    path: /^\/webhooks\/.*@original/,
    status: 429,
    retryAfterMs: 150,
    times: 4,
  });
  const broken = h.server.inject({ method: 'PATCH', path: /^\/webhooks\/.*@original/, status: 500, times: 3 });
  const users = [h.users.alice, h.users.bob, h.users.owner];
  const runs = users.map((user, n) =>
    h!.server.slash({
      user,
      command: 'imagine',
      options: { prompt: `stormy sea ${n}`, steps: 10, count: n === 2 ? 2 : 1 },
    }),
  );
  const finals = await Promise.all(runs.map((i) => i.waitFor(isFinal)));
  assert.equal(finals.length, 3);
  assert.equal(limited.hits, 4);
  assert.equal(broken.hits, 3);
  assert.equal(h.server.maxEditsInFlight(), 1);
  for (const i of runs) assert.equal(finalsOf(i).length, 1);
});

test('after the token expires the result is posted to the channel, mentioning the owner', async () => {
  const lifetime = 1200;
  h = await Harness.start({
    server: { tokenLifetimeMs: lifetime },
    bot: { tokenLifetimeMs: lifetime },
    settings: { cooldownSeconds: 0 },
    wrapEngine: (e) => paced(e, 100),
  });
  const i = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a slow sunset', steps: 20 },
  });
  const post = await h.server.waitForChannelMessage(
    h.server.channels.general.id,
    (m) => m.kind === 'channel' && m.attachments.length > 0,
  );
  assert.match(post.content, new RegExp(`^<@${h.users.alice.id}> your image is ready`));
  assert.deepEqual((post.allowedMentions as { users?: string[] }).users, [h.users.alice.id]);
  assert.ok(post.components.length > 0, 'the buttons come along');
  assert.equal(finalsOf(i).length, 0, 'the dead token was not used for the final');
});
