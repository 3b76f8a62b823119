// Issue 8 front-end pieces without Discord: the --video switch, the 🎞 custom_id, which request a film
// or strip re-runs, and which jobs the worker hands to the media renderer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromptFlags } from '../../src/commands/flags.ts';
import { decodeCustomId, encodeCustomId } from '../../src/discord/custom-id.ts';
import { singleImageRequest } from '../../src/commands/variants.ts';
import { isMediaJob, MediaUnavailableError } from '../../src/queue/index.ts';
import { runMediaJob } from '../../src/queue/media-jobs.ts';
import type { JobRecord } from '../../src/queue/index.ts';

function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'job1',
    owner: { userId: 'u', guildId: 'g', channelId: 'c' },
    request: {
      prompt: 'a cat',
      seed: 100,
      steps: 10,
      guidance: 7,
      width: 64,
      height: 64,
      sampler: 'euler_a',
      count: 4,
      variation: { seed: 500, strength: 0.2 },
    },
    kind: 'new',
    state: 'done',
    createdAt: 0,
    result: { images: ['0.png', '1.png', '2.png', '3.png'], seeds: [100, 101, 102, 103], model: 'm', elapsedMs: 1 },
    ...overrides,
  };
}

test('--video is a switch: no value taken, removed from the prompt, other flags still parsed', () => {
  assert.deepEqual(parsePromptFlags('a red apple --video --seed 5'), {
    prompt: 'a red apple',
    flags: { video: true, seed: 5 },
  });
  assert.deepEqual(parsePromptFlags('--video a red apple'), { prompt: 'a red apple', flags: { video: true } });
  assert.equal(parsePromptFlags('a red apple').flags.video, undefined);
});

test('the 🎞 custom_id carries the action and the job only (plus U-index under a picked image)', () => {
  const id = encodeCustomId({ action: 'timelapse', jobId: 'abc_123' });
  assert.equal(id, 'ef:tl:abc_123');
  assert.deepEqual(decodeCustomId(id), { action: 'timelapse', jobId: 'abc_123' });
  assert.deepEqual(decodeCustomId('ef:tl:abc_123:2'), { action: 'timelapse', jobId: 'abc_123', index: 2 });
});

test('a film of a grid re-runs the whole request; of one image, exactly that image alone', () => {
  const parent = job();
  assert.deepEqual(singleImageRequest(parent), parent.request);
  assert.notEqual(singleImageRequest(parent), parent.request, 'a copy, not the stored object');
  // image 3 of a batch is seed + 2 with variation seed + 2 (the pipeline's per-image streams)
  assert.deepEqual(singleImageRequest(parent, 3), {
    ...parent.request,
    seed: 102,
    count: 1,
    variation: { seed: 502, strength: 0.2 },
  });
  assert.throws(() => singleImageRequest(parent, 5), /no image 5/);
});

test('the worker hands timelapse, diffusion and --video jobs to the media renderer, nothing else', () => {
  assert.equal(isMediaJob(job()), false);
  assert.equal(isMediaJob(job({ kind: 'reroll' })), false);
  assert.equal(isMediaJob(job({ kind: 'timelapse' })), true);
  assert.equal(isMediaJob(job({ kind: 'diffusion' })), true);
  assert.equal(isMediaJob(job({ extras: { video: true } })), true);
});

test('a media job on a worker without a renderer fails with a message that says so', async () => {
  const options = { signal: new AbortController().signal, onStep: () => {}, previews: true };
  await assert.rejects(
    runMediaJob(job({ kind: 'timelapse' }), undefined, options),
    (e: unknown) => e instanceof MediaUnavailableError && /timelapse job/.test(e.message),
  );
  await assert.rejects(
    runMediaJob(job({ extras: { video: true } }), undefined, options),
    (e: unknown) => e instanceof MediaUnavailableError && /video job/.test(e.message),
  );
});
