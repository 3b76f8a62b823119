// An engine failure in the middle of a job, from a real broken model (test/fixtures/models/tiny-broken:
// its U-Net fails at timesteps below 500 for latents 10 wide, i.e. the 3:2 aspect): the user is told
// clearly, and the next job runs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, isFinal } from '../e2e/harness.ts';
import { isEphemeral } from '../support/discord/index.ts';
import { MODELS } from './helpers.ts';

let h: Harness | undefined;
after(async () => h?.close());

test('the model fails at step k: a fixed failure message (no engine text, no host path), an ephemeral note, the details in the record, and the next job runs', async () => {
  h = await Harness.start({ modelDir: join(MODELS, 'tiny-broken'), settings: { cooldownSeconds: 0 } });
  const steps = new Map<string, number[]>();
  h.queue.on('progress', (e) => steps.set(e.job.id, [...(steps.get(e.job.id) ?? []), e.step]));

  const bad = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a wide broken view', aspect: '3:2', steps: 10, seed: 1 },
  });
  const ended = await bad.waitFor((m) => /Failed:/.test(m.content));
  assert.match(
    ended.content,
    /Failed: the image engine could not make it \(it stopped at step \d+ of 10\)\. Try again/,
  );
  assert.doesNotMatch(ended.content, /onnxruntime|Status Message|Non-zero status|Reshape|\/work\/|\.onnx|\.cc:/);
  assert.equal(ended.components.length, 0, 'no result buttons on a failure');
  assert.equal(ended.attachments.length, 0);
  const note = await bad.waitForFollowUp(isEphemeral);
  assert.match(
    note.content,
    /^Your image could not be made: the image engine could not make it \(it stopped at step \d+ of 10\)\. Try again, perhaps with fewer steps or a smaller size; if it keeps failing, tell a moderator\.$/s,
  );
  assert.doesNotMatch(note.content, /Reshape|onnx/);
  const [failed] = await h.queue.listForUser(h.users.alice.id, { finished: 1 });
  assert.equal(failed.state, 'failed');
  assert.equal(failed.failure, 'engine');
  assert.match(
    failed.error ?? '',
    /The input tensor cannot be reshaped/,
    'the details stay in the record (and the log)',
  );
  const ran = steps.get(failed.id) ?? [];
  assert.ok(ran.length >= 2 && Math.max(...ran) < 10, `it failed mid-job, after steps ${ran.join(',')}`);
  assert.match(
    ended.content,
    new RegExp(`at step ${Math.max(...ran) + 1} of 10`),
    'the message names the step that failed',
  );

  // The worker goes on: the next jobs (a size the model handles) finish and are delivered.
  const next = h.server.slash({
    user: h.users.bob,
    command: 'imagine',
    options: { prompt: 'a square view', steps: 10 },
  });
  const final = await next.waitFor(isFinal);
  assert.match(final.content, /a square view/);
  const again = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a square view again', steps: 4 },
  });
  await again.waitFor(isFinal);
  assert.deepEqual({ ...h.queue.stats().byState }, { queued: 0, running: 0, done: 2, failed: 1, cancelled: 0 });
  assert.deepEqual(h.errors, [], 'nothing logged as an internal error');
  assert.deepEqual(h.server.takeViolations(), []);
});
