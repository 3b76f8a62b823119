import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findBannedWord, normalizeForMatching } from '../../src/queue/moderation.ts';

const BANNED = ['gore', 'nsfw', 'ass', 'kill', 'evil thing', 'bad'];

test('plain whole words match and return the configured word', () => {
  assert.equal(findBannedWord('a bloody GORE scene', BANNED), 'gore');
  assert.equal(findBannedWord('cute cat, bad vibes', BANNED), 'bad');
  assert.equal(findBannedWord('a happy cat', BANNED), undefined);
  assert.equal(findBannedWord('anything', []), undefined);
});

test('evasions are caught', () => {
  const cases: Array<[string, string]> = [
    ['ｇｏｒｅ', 'gore'], // fullwidth (NFKC)
    ['𝐠𝐨𝐫𝐞', 'gore'], // mathematical bold (NFKC)
    ['go\u200Bre', 'gore'], // zero-width space
    ['g\u00ADore', 'gore'], // soft hyphen
    ['gòrë', 'gore'], // accents
    ['gоrе', 'gore'], // Cyrillic о and е
    ['κill', 'kill'], // Greek kappa
    ['g0r3', 'gore'], // leetspeak
    ['k1ll', 'kill'], // 1 read as l
    ['n$fw', 'nsfw'],
    ['b@d', 'bad'],
    ['g.o.r.e', 'gore'],
    ['g-o-r-e', 'gore'],
    ['a b a d idea', 'bad'], // spaced letters after a one-letter word
    ['g o r e', 'gore'],
    ['goooore', 'gore'], // stretched
    ['baaad', 'bad'],
    ['nsfwcat', 'nsfw'], // inside a compound
    ['supergoreart', 'gore'],
    ['an EVIL   thing', 'evil thing'], // phrase
    ['evil-thing', 'evil thing'],
  ];
  for (const [text, want] of cases)
    assert.equal(findBannedWord(text, BANNED), want, `expected ${JSON.stringify(text)} to match ${want}`);
});

test('short banned words do not flag innocent longer words', () => {
  for (const text of ['a classic class', 'assistant bot', 'as it was', 'badge and badminton', 'skillet']) {
    const hit = findBannedWord(text, ['ass', 'bad']);
    assert.equal(hit, undefined, `expected ${JSON.stringify(text)} to pass, matched ${hit}`);
  }
});

test('banned words are normalised too (a moderator can type them any way)', () => {
  assert.equal(findBannedWord('gore', ['GÖRE']), 'GÖRE');
  assert.equal(findBannedWord('nsfw', ['ｎｓｆｗ']), 'ｎｓｆｗ');
});

test('normalizeForMatching folds look-alikes and leetspeak', () => {
  assert.equal(normalizeForMatching('Ｈ3ʟʟ0 Wоrld'), 'hello world');
});

test('a run of one-letter words is checked whole, however long', () => {
  // 60 one-letter words: the banned word sits at the end, past any fixed window.
  const filler = 'x y z w '.repeat(14).trim().split(' ');
  const spelled = [...filler, ...'nsfw'.split('')];
  assert.equal(spelled.length, 60);
  assert.equal(findBannedWord(spelled.join(' '), BANNED), 'nsfw');
  assert.equal(findBannedWord(['a', ...filler, 'g', 'o', 'r', 'e'].join(' '), BANNED), 'gore');
  // stretched inside a long run
  assert.equal(findBannedWord([...filler, 'b', 'a', 'a', 'a', 'd'].join(' '), BANNED), 'bad');
  assert.equal(findBannedWord(filler.join(' '), BANNED), undefined);
});
