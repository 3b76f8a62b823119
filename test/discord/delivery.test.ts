// Delivery against the real queue, worker and tiny engine, with a recording transport standing in
// for Discord: slow edits (latest-wins, one in flight), injected 429/500, an expired token.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RateLimitError, HTTPError } from 'discord.js';
import { DiffusionPipeline, silentLogger } from '../../src/engine/index.ts';
import { GuildSettingsStore, JobQueue, Worker, openStore, type JobRecord } from '../../src/queue/index.ts';
import { Deliverer, TOKEN_LIFETIME_MS } from '../../src/discord/delivery.ts';
import type { Transport } from '../../src/discord/transport.ts';
import type { MessagePayload } from '../../src/discord/render.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';
import { paced } from '../e2e/harness.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/models/tiny-fp32');
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class RecordingTransport implements Transport {
  edits: { token: string; payload: MessagePayload }[] = [];
  posts: { channelId: string; payload: MessagePayload; mention: string }[] = [];
  followUps: string[] = [];
  inFlight = new Map<string, number>();
  maxInFlight = 0;
  editDelayMs = 0;
  /** Errors thrown by the next edits, in order. */
  failNext: Error[] = [];
  async editOriginal(_app: string, token: string, payload: MessagePayload): Promise<void> {
    const n = (this.inFlight.get(token) ?? 0) + 1;
    this.inFlight.set(token, n);
    this.maxInFlight = Math.max(this.maxInFlight, n);
    try {
      await sleep(this.editDelayMs);
      const failure = this.failNext.shift();
      if (failure) throw failure;
      this.edits.push({ token, payload });
    } finally {
      this.inFlight.set(token, (this.inFlight.get(token) ?? 1) - 1);
    }
  }
  async postToChannel(channelId: string, payload: MessagePayload, mention: string): Promise<string> {
    this.posts.push({ channelId, payload, mention });
    return '123';
  }
  async ephemeralFollowUp(_app: string, _token: string, content: string): Promise<void> {
    this.followUps.push(content);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'delivery-test-'));
const engine = await DiffusionPipeline.load(FIXTURE, { logger: silentLogger, intraOpNumThreads: 1 });
const store = await openStore({ dataDir: dir });
const settings = new GuildSettingsStore(store);
const queue = await JobQueue.open({ store, settings, pruneIntervalMs: 0 });
// Steps paced 15 ms apart: the tiny model alone can finish all 30 steps inside one 40 ms edit, and then no
// mid-run preview could land for the slow-edits test to see.
const worker = new Worker(queue, paced(engine, 15), { resultsDir: join(dir, 'results') });
worker.start();
after(async () => {
  await worker.stop();
  await queue.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

let userCounter = 0;
async function submit(steps: number, count = 1, createdAt = Date.now()): Promise<JobRecord> {
  return queue.submit({
    owner: { userId: `u${++userCounter}`, guildId: 'g1', channelId: 'c1' },
    request: { prompt: 'a red apple', seed: 7, steps, guidance: 5, width: 64, height: 64, sampler: 'euler', count },
    kind: 'new',
    delivery: { applicationId: 'app', token: `tok${userCounter}`, createdAt, channelId: 'c1' },
  });
}

function finished(job: JobRecord): Promise<JobRecord> {
  return new Promise((resolve) => {
    const off = [queue.on('done', h), queue.on('failed', h), queue.on('cancelled', h)];
    function h(j: JobRecord) {
      if (j.id !== job.id) return;
      off.forEach((f) => f());
      resolve(j);
    }
  });
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('slow edits: previews are dropped, never queued; one edit in flight; final has the image and buttons', async () => {
  const transport = new RecordingTransport();
  transport.editDelayMs = 40;
  const deliverer = new Deliverer({ queue, transport, logger: quiet, applicationId: 'app', previewIntervalMs: 10 });
  deliverer.start();
  try {
    const job = await submit(30, 4);
    deliverer.track(job);
    await finished(job);
    await until(() => transport.edits.some((e) => e.payload.components.length === 3), 'the final edit');
    const mine = transport.edits.filter((e) => e.token === job.delivery!.token);
    const final = mine.at(-1)!.payload;
    assert.equal(final.files[0].name, 'grid.png');
    assert.ok(final.files[0].data.subarray(1, 4).toString() === 'PNG');
    const ids = final.components.flatMap((r) => r.components.map((c) => ('custom_id' in c ? c.custom_id : '')));
    assert.deepEqual(
      ids.map((id) => decodeCustomId(id)?.action),
      [
        ...['pick', 'pick', 'pick', 'pick', 'variation', 'variation', 'variation', 'variation'],
        ...['reroll', 'timelapse', 'delete', 'remix', 'recipe'],
      ],
    );
    const previews = mine.filter((e) => /Step \d+\/30/.test(e.payload.content));
    assert.ok(previews.length >= 1, 'at least one preview shown');
    assert.ok(
      previews.length < 30,
      `previews are dropped while an edit is in flight, got ${previews.length} edits for 30 steps`,
    );
    assert.ok(previews.some((e) => e.payload.files[0]?.name === 'preview.webp'));
    assert.equal(transport.maxInFlight, 1);
    assert.equal(deliverer.maxInFlightPerMessage, 1);
  } finally {
    await deliverer.stop();
  }
});

test('injected 429 and 500 on the final edit: still delivered', async () => {
  const transport = new RecordingTransport();
  // Armed by a 'done' listener registered before the deliverer's, so the FINAL edit meets both failures.
  const arm = queue.on('done', () =>
    transport.failNext.push(
      new RateLimitError({
        timeToReset: 50,
        limit: 5,
        method: 'PATCH',
        hash: 'h',
        url: '/x',
        route: '/x',
        majorParameter: 'm',
        global: false,
        retryAfter: 50,
        sublimitTimeout: 0,
        scope: 'user',
      }),
      new HTTPError(500, 'Internal Server Error', 'PATCH', '/x', {}),
    ),
  );
  const deliverer = new Deliverer({ queue, transport, logger: quiet, applicationId: 'app', previewIntervalMs: 60_000 });
  deliverer.start();
  try {
    const job = await submit(3);
    await finished(job);
    arm();
    await until(
      () =>
        transport.edits.some(
          (e) =>
            e.token === job.delivery!.token &&
            e.payload.components.length === 2 &&
            e.payload.files[0]?.name === 'image.png',
        ),
      'the final after 429 and 500',
    );
    assert.equal(transport.failNext.length, 0, 'both injected failures were hit');
  } finally {
    await deliverer.stop();
  }
});

test('an expired token sends the final to the channel, mentioning the owner', async () => {
  const transport = new RecordingTransport();
  const deliverer = new Deliverer({ queue, transport, logger: quiet, applicationId: 'app' });
  deliverer.start();
  try {
    const job = await submit(2, 1, Date.now() - TOKEN_LIFETIME_MS - 1000);
    await finished(job);
    await until(() => transport.posts.length === 1, 'the channel post');
    const post = transport.posts[0];
    assert.equal(post.channelId, 'c1');
    assert.equal(post.mention, job.owner.userId);
    assert.match(post.payload.content, new RegExp(`^<@${job.owner.userId}> your image is ready`));
    assert.equal(
      transport.edits.filter((e) => e.token === job.delivery!.token).length,
      0,
      'the dead token was not used',
    );
    assert.equal(deliverer.channelFallbacks, 1);
    // The message id is recorded after the post lands, so poll rather than race it.
    let stored = await queue.get(job.id);
    for (let i = 0; i < 200 && stored?.delivery?.channelMessageId === undefined; i++) {
      await sleep(10);
      stored = await queue.get(job.id);
    }
    assert.equal(stored?.delivery?.channelMessageId, '123');
  } finally {
    await deliverer.stop();
  }
});

test('jobs of another application are left alone', async () => {
  const transport = new RecordingTransport();
  const deliverer = new Deliverer({ queue, transport, logger: quiet, applicationId: 'other-app' });
  deliverer.start();
  try {
    const job = await submit(2);
    await finished(job);
    await sleep(50);
    assert.equal(transport.edits.length + transport.posts.length, 0);
  } finally {
    await deliverer.stop();
  }
});
