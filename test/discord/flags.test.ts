import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromptFlags, mergeOption } from '../../src/commands/flags.ts';
import { aspectToSize } from '../../src/commands/aspect.ts';
import { InvalidOptionError } from '../../src/discord/errors.ts';

test('flags are parsed and removed from the prompt', () => {
  const parsed = parsePromptFlags('a red fox --ar 16:9 --seed 5 --no text, watermark --steps 20 in snow');
  assert.equal(parsed.prompt, 'a red fox in snow');
  assert.deepEqual(parsed.flags, { aspect: '16:9', seed: 5, negative: 'text, watermark', steps: 20 });
});

test('aliases, em dash and repeated --no', () => {
  const parsed = parsePromptFlags('cat —cfg 6.5 --n 4 --no dogs --no birds --sampler Euler_A');
  assert.equal(parsed.prompt, 'cat');
  assert.deepEqual(parsed.flags, { guidance: 6.5, count: 4, negative: 'dogs, birds', sampler: 'euler_a' });
});

test('unknown flags, missing values and bad numbers are refused with a hint', () => {
  assert.throws(
    () => parsePromptFlags('cat --v 5'),
    (e) => e instanceof InvalidOptionError && /unknown prompt flag `--v`/.test(e.message),
  );
  assert.throws(
    () => parsePromptFlags('cat --seed'),
    (e) => e instanceof InvalidOptionError && /needs a value/.test(e.message),
  );
  assert.throws(
    () => parsePromptFlags('cat --steps 2.5'),
    (e) => e instanceof InvalidOptionError && /whole number, got `2.5`/.test(e.message),
  );
  assert.throws(() => parsePromptFlags('cat --seed 1 --seed 2'), /given twice/);
});

test('words with single dashes stay in the prompt', () => {
  assert.equal(parsePromptFlags('a sci-fi ship -- wide').prompt, 'a sci-fi ship -- wide');
});

test('mergeOption: option wins when equal or flag absent, conflicts are errors', () => {
  assert.equal(mergeOption('seed', 5, undefined), 5);
  assert.equal(mergeOption('seed', null, 7), 7);
  assert.equal(mergeOption('seed', 5, 5), 5);
  assert.equal(mergeOption('seed', undefined, undefined), undefined);
  assert.throws(
    () => mergeOption('seed', 5, 7),
    (e) => e instanceof InvalidOptionError && /option 5 and prompt flag 7/.test(e.message),
  );
});

const plain = (side: number) => ({ side, multiple: 8, buckets: false });

test('aspect ratios keep about the native area in multiples of 8', () => {
  assert.deepEqual(aspectToSize('1:1', plain(64)), { width: 64, height: 64 });
  assert.deepEqual(aspectToSize('16:9', plain(512)), { width: 680, height: 384 });
  assert.deepEqual(aspectToSize('9:16', plain(512)), { width: 384, height: 680 });
  const { width, height } = aspectToSize('3:2', plain(64));
  assert.equal(width % 8, 0);
  assert.equal(height % 8, 0);
  assert.ok(width > height);
  assert.throws(() => aspectToSize('10:1', plain(64)), InvalidOptionError);
  assert.throws(() => aspectToSize('wide', plain(64)), InvalidOptionError);
});
