// An engine failure in the middle of a job, from a real broken model (test/fixtures/models/tiny-broken:
// its U-Net fails at timesteps below 500 for latents 10 wide, i.e. the 3:2 aspect): the user is told
// clearly, and the next job runs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, isFinal } from '../e2e/harness.ts';
import { isEphemeral } from '../support/discord/index.ts';
import { plainReason } from '../../src/discord/failure.ts';
import { MODELS } from './helpers.ts';

let h: Harness | undefined;
after(async () => h?.close());

test('the model fails at step k: a clear failure message (no engine internals), an ephemeral note, and the next job runs', async () => {
  h = await Harness.start({ modelDir: join(MODELS, 'tiny-broken'), settings: { cooldownSeconds: 0 } });
  const steps = new Map<string, number[]>();
  h.queue.on('progress', (e) => steps.set(e.job.id, [...(steps.get(e.job.id) ?? []), e.step]));

  const bad = h.server.slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a wide broken view', aspect: '3:2', steps: 10, seed: 1 } });
  const ended = await bad.waitFor((m) => /Failed:/.test(m.content));
  assert.match(ended.content, /Failed: the engine failed at step \d+ of 10: The input tensor cannot be reshaped to the requested shape\. Input shape:\{2,4,7,10\}.* \(Reshape\)\. Try again/);
  assert.doesNotMatch(ended.content, /onnxruntime_src|Status Message|Non-zero status/);
  assert.equal(ended.components.length, 0, 'no result buttons on a failure');
  assert.equal(ended.attachments.length, 0);
  const note = await bad.waitForFollowUp(isEphemeral);
  assert.match(note.content, /^Your image could not be made: the engine failed at step \d+ of 10: .*Try again, perhaps with fewer steps or a smaller size; if it keeps failing, tell a moderator\.$/s);
  const [failed] = await h.queue.listForUser(h.users.alice.id, { finished: 1 });
  assert.equal(failed.state, 'failed');
  const ran = steps.get(failed.id) ?? [];
  assert.ok(ran.length >= 2 && Math.max(...ran) < 10, `it failed mid-job, after steps ${ran.join(',')}`);
  assert.match(ended.content, new RegExp(`at step ${Math.max(...ran) + 1} of 10`), 'the message names the step that failed');

  // The worker goes on: the next jobs (a size the model handles) finish and are delivered.
  const next = h.server.slash({ user: h.users.bob, command: 'imagine', options: { prompt: 'a square view', steps: 10 } });
  const final = await next.waitFor(isFinal);
  assert.match(final.content, /a square view/);
  const again = h.server.slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a square view again', steps: 4 } });
  await again.waitFor(isFinal);
  assert.deepEqual({ ...h.queue.stats().byState }, { queued: 0, running: 0, done: 2, failed: 1, cancelled: 0 });
  assert.deepEqual(h.errors, [], 'nothing logged as an internal error');
  assert.deepEqual(h.server.takeViolations(), []);
});

test('plainReason keeps plain messages and strips onnxruntime internals', () => {
  assert.equal(plainReason('out of GPU memory'), 'out of GPU memory');
  assert.equal(
    plainReason("the engine failed: Non-zero status code returned while running Conv node. Name:'/conv_in/Conv' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/nn/conv.cc:12 f(int) X was false. Invalid input shape: {1,3}"),
    'the engine failed: Invalid input shape: {1,3} (Conv)',
  );
  assert.equal(plainReason("Non-zero status code returned while running Gemm node. Name:'g' Status Message: bad alloc"), 'bad alloc (Gemm)');
  assert.ok(plainReason('x'.repeat(1000)).length <= 300);
});
