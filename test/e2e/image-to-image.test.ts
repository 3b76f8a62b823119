// /imagine from a picture: an attachment (image option) or a CDN link before the prompt is fetched,
// fitted to the picture's shape at the model's size, stored with the job and drawn from; reroll keeps
// starting from it. Every bad picture, link or strength is refused with a clear message and queues nothing.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { Harness, buttonIdFor, engine, isFinal, ephemeralAnswer } from './harness.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';
import { isEphemeral, type StoredMessage } from '../support/discord/index.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({ settings: { maxPending: 5 }, bot: { imageFetchTimeoutMs: 700 } });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

/** A 100x60 picture: left half orange, right half blue (a shape and colours the result should keep). */
async function picture(): Promise<Buffer> {
  const raw = Buffer.alloc(100 * 60 * 3);
  for (let y = 0; y < 60; y++)
    for (let x = 0; x < 100; x++) raw.set(x < 50 ? [240, 140, 20] : [20, 60, 220], (y * 100 + x) * 3);
  return sharp(raw, { raw: { width: 100, height: 60, channels: 3 } })
    .png()
    .toBuffer();
}

async function rgb(png: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(png).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

async function jobOf(final: StoredMessage) {
  const job = await h.queue.get(decodeCustomId(buttonIdFor(final, '🔄'))!.jobId);
  assert.ok(job);
  return job;
}

test('an attached picture is fitted to its shape, stored with the job, and the result starts from it', async () => {
  const upload = h.server.upload({ filename: 'halves.png', contentType: 'image/png', data: await picture() });
  const options = { prompt: 'a flag', steps: 4, seed: 11, image: { id: upload.id }, strength: 0.3 };
  const final = await h.server.slash({ user: h.users.alice, command: 'imagine', options }).waitFor(isFinal);
  const job = await jobOf(final);
  // 100x60 is 5:3: around the model's 64 px, multiples of 8.
  assert.deepEqual([job.request.width, job.request.height], [80, 48]);
  assert.equal(job.request.init?.strength, 0.3);
  const source = job.request.init!.imagePath;
  assert.equal(dirname(source), join(h.dataDir, 'sources'));
  assert.ok(existsSync(source));
  assert.deepEqual(job.extras?.source, { name: 'halves.png' });
  assert.match(final.content, /from halves\.png/);

  // The same seed from text alone lands much further from the picture than the image-to-image result.
  const text = await h.server
    .slash({
      user: h.users.alice,
      command: 'imagine',
      options: { prompt: 'a flag', steps: 4, seed: 11, aspect: '3:2' },
    })
    .waitFor(isFinal);
  const want = await rgb(await picture(), 80, 48);
  const fromImage = meanAbsDiff(await rgb(final.attachments[0].data, 80, 48), want);
  const fromText = meanAbsDiff(await rgb(text.attachments[0].data, 80, 48), want);
  assert.ok(fromImage < fromText, `image-to-image ${fromImage.toFixed(1)} vs text ${fromText.toFixed(1)}`);
  // And it is exactly what the engine draws from the stored picture.
  const direct = await (await engine()).generate(job.request);
  const stored = await sharp(await readFile(job.result!.images[0]))
    .raw()
    .toBuffer();
  assert.ok(Buffer.from(direct.images[0].data).equals(stored), 'the engine, from the stored source, draws the same');

  // 🔄 starts from the same stored picture.
  const reroll = await h.server
    .click({ user: h.users.bob, message: final, customId: buttonIdFor(final, '🔄') })
    .waitFor(isFinal);
  const child = await jobOf(reroll);
  assert.equal(child.request.init?.imagePath, source);
  assert.notEqual(child.request.seed, job.request.seed);
});

test('a Discord CDN link before the prompt is fetched like an attachment', async () => {
  const upload = h.server.upload({ filename: 'flag.png', contentType: 'image/png', data: await picture() });
  const final = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: `${upload.url} a flag --ar 1:1`, steps: 2 } })
    .waitFor(isFinal);
  const job = await jobOf(final);
  assert.equal(job.request.prompt, 'a flag');
  assert.deepEqual([job.request.width, job.request.height], [64, 64], 'the asked aspect wins over the picture');
  assert.equal(job.request.init?.strength, 0.6, 'the default strength');
  assert.ok(existsSync(job.request.init!.imagePath));
});

test('bad pictures, links and strengths: a clear ephemeral message each, nothing queued', async () => {
  const png = await picture();
  const frame = (colour: string) =>
    sharp({ create: { width: 8, height: 8, channels: 3, background: colour } })
      .png()
      .toBuffer();
  const animated = await sharp([await frame('#f00'), await frame('#00f')], { join: { animated: true } })
    .gif()
    .toBuffer();
  const wide = await sharp({ create: { width: 8001, height: 2, channels: 3, background: '#fff' } })
    .png()
    .toBuffer();
  const up = (filename: string, contentType: string, data: Buffer, extra = {}) =>
    h.server.upload({ filename, contentType, data, ...extra });
  const cases: { options: Record<string, unknown>; expect: RegExp; unchecked?: boolean }[] = [
    { options: { image: { id: up('notes.txt', 'text/plain', Buffer.from('hello')).id } }, expect: /not an image/ },
    {
      options: { image: { id: up('x.png', 'image/png', Buffer.from('not a png')).id } },
      expect: /not an image I can read/,
    },
    { options: { image: { id: up('big.png', 'image/png', Buffer.alloc(26 * 1024 * 1024)).id } }, expect: /over 25 MB/ },
    { options: { image: { id: up('wide.png', 'image/png', wide).id } }, expect: /8001×2; at most 8000 px/ },
    { options: { image: { id: up('anim.gif', 'image/gif', animated).id } }, expect: /animated/ },
    { options: { prompt: 'https://example.com/cat.png a cat' }, expect: /only fetch images uploaded to Discord/ },
    {
      options: { prompt: `${up('slow.png', 'image/png', png, { delayMs: 2000 }).url} a cat` },
      expect: /took over 1 s to download/,
    },
    {
      options: { prompt: `${up('away.png', 'image/png', png, { redirectTo: 'http://127.0.0.1:9/x.png' }).url} a cat` },
      expect: /leads away from Discord's CDN/,
    },
    {
      options: { image: { id: up('a.png', 'image/png', png).id }, strength: 0 },
      expect: /strength must be/,
      unchecked: true,
    },
    {
      options: { image: { id: up('b.png', 'image/png', png).id }, strength: 2 },
      expect: /strength must be/,
      unchecked: true,
    },
    { options: { strength: 0.5 }, expect: /strength only applies when you start from an image/ },
  ];
  for (const c of cases) {
    const before = (await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length;
    const options = { prompt: 'a cat', steps: 2, ...c.options };
    const i = h.server.slash({ user: h.users.bob, command: 'imagine', options, unchecked: c.unchecked });
    await ephemeralAnswer(h, i, c.expect);
    const afterward = (await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length;
    assert.equal(afterward, before, `nothing queued for ${JSON.stringify(c.options).slice(0, 80)}`);
  }
});

test('a model without a VAE encoder refuses a picture before anything is fetched', async () => {
  const plain = await Harness.start({ bot: { imageToImage: false } });
  try {
    const upload = plain.server.upload({ filename: 'p.png', contentType: 'image/png', data: await picture() });
    const i = plain.server.slash({
      user: plain.users.alice,
      command: 'imagine',
      options: { prompt: 'a cat', image: { id: upload.id } },
    });
    const reply = await i.waitFor((m) => isEphemeral(m) && /cannot start from an image/.test(m.content));
    assert.equal(i.ack?.type, 4, 'answered at once, not deferred');
    assert.ok(reply);
    assert.deepEqual(plain.server.violations, []);
  } finally {
    await plain.close();
  }
});
