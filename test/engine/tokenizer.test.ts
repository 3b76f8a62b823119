import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { ClipTokenizer, TokenizerError, vocabFromMerges } from '../../src/engine/tokenizer.ts';

// ../shared/reference from the repo root; reference data is read in place, never copied into the project.
const REFERENCE = fileURLToPath(new URL('../../../shared/reference/clip/', import.meta.url));
const haveReference =
  existsSync(join(REFERENCE, 'bpe_simple_vocab_16e6.txt.gz')) && existsSync(join(REFERENCE, 'token-vectors.json'));
const skipReference = haveReference
  ? false
  : `reference data not found at ${REFERENCE} (needs ../shared/reference/clip)`;

test('reproduces every id list of the CLIP reference tokenizer', { skip: skipReference }, () => {
  const lines = gunzipSync(readFileSync(join(REFERENCE, 'bpe_simple_vocab_16e6.txt.gz')))
    .toString('utf8')
    .split('\n');
  // Line 1 is a header; CLIP uses the next 49152 - 256 - 2 = 48,894 merges.
  const merges = lines.slice(1, 1 + 48_894);
  const vocab = vocabFromMerges(merges);
  assert.equal(vocab.size, 49_408);
  assert.equal(vocab.get('<|startoftext|>'), 49_406);
  assert.equal(vocab.get('<|endoftext|>'), 49_407);
  const tokenizer = new ClipTokenizer({ vocab, merges });
  const vectors = JSON.parse(readFileSync(join(REFERENCE, 'token-vectors.json'), 'utf8')) as {
    text: string;
    ids: number[];
  }[];
  assert.ok(vectors.length > 0);
  for (const { text, ids } of vectors) {
    assert.deepEqual(tokenizer.tokenize(text), ids, `ids of ${JSON.stringify(text)}`);
    // encode() pads or truncates the same ids to 77
    const encoded = tokenizer.encode(text);
    assert.equal(encoded.ids.length, 77);
    assert.equal(encoded.tokenCount, ids.length - 2);
    if (ids.length <= 77) assert.deepEqual(encoded.ids.slice(0, ids.length), ids);
  }
  // A long prompt is cut to 77 ids that still end with the end token.
  const long = tokenizer.encode('a photo of a cat '.repeat(30));
  assert.equal(long.truncated, true);
  assert.equal(long.tokenCount, 150);
  assert.equal(long.ids.length, 77);
  assert.equal(long.ids[76], 49_407);
  assert.deepEqual(long.ids.slice(0, 6), [49406, 320, 1125, 539, 320, 2368]);
});

// A hand-made vocabulary: "cat" and "dog" merge to one token each, "!" is a pad token as in SD 2.x.
const TINY_MERGES = ['c a', 'ca t</w>', 'd o', 'do g</w>'];
const TINY_VOCAB: Record<string, number> = {
  '<|startoftext|>': 0,
  '<|endoftext|>': 1,
  '!': 2,
  c: 3,
  a: 4,
  't</w>': 5,
  ca: 6,
  'cat</w>': 7,
  d: 8,
  o: 9,
  'g</w>': 10,
  do: 11,
  'dog</w>': 12,
  'a</w>': 13,
  '&</w>': 14,
};

function tiny(options: { padToken?: string; maxLength?: number } = {}): ClipTokenizer {
  return new ClipTokenizer({ vocab: TINY_VOCAB, merges: TINY_MERGES, maxLength: 8, ...options });
}

test('pads with the end token by default and with the configured pad token otherwise', () => {
  assert.deepEqual(tiny().encode('cat dog').ids, [0, 7, 12, 1, 1, 1, 1, 1]);
  assert.deepEqual(tiny({ padToken: '!' }).encode('cat dog').ids, [0, 7, 12, 1, 2, 2, 2, 2]);
});

test('merges by rank and marks the end of a word', () => {
  // "ca" is a word of its own here: c+a</w> has no merge, so it stays two symbols.
  assert.deepEqual(tiny().tokenize('ca'), [0, 3, 13, 1]);
  assert.deepEqual(tiny().tokenize('cat'), [0, 7, 1]);
});

test('cleans whitespace and case before splitting', () => {
  assert.deepEqual(tiny().encode('  CAT\n\t Dog ').ids, tiny().encode('cat dog').ids);
});

test('unescapes HTML entities as CLIP does', () => {
  assert.deepEqual(tiny().tokenize('cat&#32;dog &amp;amp;'), [0, 7, 12, 14, 1]);
  assert.notDeepEqual(tiny().tokenize('cat &bogus; dog'), tiny().tokenize('cat dog'));
});

test('an empty prompt gives start, end and padding', () => {
  for (const text of ['', '   \n']) {
    const encoded = tiny({ padToken: '!' }).encode(text);
    assert.deepEqual(encoded.ids, [0, 1, 2, 2, 2, 2, 2, 2]);
    assert.equal(encoded.tokenCount, 0);
    assert.equal(encoded.truncated, false);
  }
});

test('truncates to maxLength keeping the end token, and says so', () => {
  const fits = tiny().encode('cat '.repeat(6));
  assert.equal(fits.truncated, false);
  assert.deepEqual(fits.ids, [0, 7, 7, 7, 7, 7, 7, 1]);
  const over = tiny().encode(`${'cat '.repeat(6)}dog`);
  assert.equal(over.truncated, true);
  assert.equal(over.tokenCount, 7);
  assert.deepEqual(over.ids, [0, 7, 7, 7, 7, 7, 7, 1]);
});

test('fromFolder reads vocab, merges and the special-token configs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenizer-'));
  try {
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(TINY_VOCAB));
    writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${TINY_MERGES.join('\r\n')}\n`);
    writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify({ pad_token: { content: '!', lstrip: false } }));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 6 }));
    const tokenizer = ClipTokenizer.fromFolder(dir);
    assert.equal(tokenizer.maxLength, 6);
    assert.equal(tokenizer.padId, 2);
    assert.deepEqual(tokenizer.encode('dog').ids, [0, 12, 1, 2, 2, 2]);

    rmSync(join(dir, 'merges.txt'));
    assert.throws(
      () => ClipTokenizer.fromFolder(dir),
      (error: unknown) => error instanceof TokenizerError && error.message.includes('merges.txt'),
    );
    writeFileSync(join(dir, 'merges.txt'), 'c a\n');
    writeFileSync(join(dir, 'vocab.json'), '{not json');
    assert.throws(
      () => ClipTokenizer.fromFolder(dir),
      (error: unknown) => error instanceof TokenizerError && error.message.includes('vocab.json'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refuses a pad token that is not in the vocabulary', () => {
  assert.throws(
    () => tiny({ padToken: '<pad>' }),
    (error: unknown) => error instanceof TokenizerError && error.message.includes('<pad>'),
  );
  assert.throws(() => tiny({ maxLength: 1 }), TokenizerError);
});
