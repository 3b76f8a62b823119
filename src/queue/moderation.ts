// Banned-word matching that survives the usual evasions: compatibility forms (ｂａｄ, 𝐛𝐚𝐝), invisible
// characters (b\u200Bad), accents (bàd), look-alike letters from other scripts (Cyrillic "а"), leetspeak
// (b4d, $), separators inside a word (b.a.d, b a d) and stretched letters (baaad).
//
// Matching rule, applied to the normalised prompt and the normalised banned word:
// - every banned word matches as a whole word;
// - a banned word of 4 or more letters also matches inside a longer word ("nsfwcat"), so short words
//   ("ass") do not flag innocent ones ("class");
// - a banned phrase (several words) matches the same words in a row.

/** Look-alike letters folded to the Latin letter they imitate (after lower-casing). */
const HOMOGLYPHS: Record<string, string> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  һ: 'h',
  ӏ: 'l',
  ь: 'b',
  п: 'n',
  // Greek
  α: 'a',
  β: 'b',
  γ: 'y',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  μ: 'u',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  ς: 'c',
  σ: 'o',
  ϲ: 'c',
  ϳ: 'j',
  // Latin variants that NFKC keeps
  ı: 'i',
  ȷ: 'j',
  ɡ: 'g',
  ɑ: 'a',
  ʀ: 'r',
  ʏ: 'y',
  ᴀ: 'a',
  ᴄ: 'c',
  ᴅ: 'd',
  ᴇ: 'e',
  ɪ: 'i',
  ᴊ: 'j',
  ᴋ: 'k',
  ʟ: 'l',
  ᴍ: 'm',
  ɴ: 'n',
  ᴏ: 'o',
  ᴘ: 'p',
  ꜱ: 's',
  ᴛ: 't',
  ᴜ: 'u',
  ᴠ: 'v',
  ᴡ: 'w',
  ᴢ: 'z',
  ø: 'o',
  đ: 'd',
  ł: 'l',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  // Leetspeak
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
};

const FORMAT_CHARS = /\p{Cf}/gu;
const MARKS = /\p{M}/gu;
const NOT_WORD = /[^\p{L}\p{N}]+/u;
const COMPOUND_MIN = 4;

/**
 * The normalised form used for matching: NFKC, format characters and accents removed, lower case,
 * look-alikes and leetspeak folded. Separators are kept (tokenising handles them).
 */
export function normalizeForMatching(text: string, alternates: Record<string, string> = {}): string {
  const base = text.normalize('NFKC').replace(FORMAT_CHARS, '').normalize('NFD').replace(MARKS, '').toLowerCase();
  let out = '';
  for (const ch of base) out += alternates[ch] ?? HOMOGLYPHS[ch] ?? ch;
  return out;
}

/** Second readings of ambiguous leetspeak ("k1ll", "he||o", "h!gh"), tried besides the primary one. */
const ALTERNATES: Record<string, string> = { '1': 'l', '|': 'l', '!': 'i' };

/**
 * Returns the first banned word (exactly as configured) found in `text`, or undefined.
 */
export function findBannedWord(text: string, bannedWords: readonly string[]): string | undefined {
  if (bannedWords.length === 0) return undefined;
  const candidates = candidateWords(normalizeForMatching(text));
  if (/[1|!]/.test(text)) {
    const alt = candidateWords(normalizeForMatching(text, ALTERNATES));
    for (const c of alt.all) candidates.all.add(c);
    candidates.runs.push(...alt.runs);
    candidates.phrases.push(alt.tokens.join(' '));
  }
  const phraseText = candidates.phrases.map((p) => ` ${p} `).join('\n');
  const squeezedRuns = candidates.runs.map(squeeze);
  for (const banned of bannedWords) {
    const parts = normalizeForMatching(banned).split(NOT_WORD).filter(Boolean);
    if (parts.length === 0) continue;
    if (parts.length > 1) {
      if (phraseText.includes(` ${parts.join(' ')} `)) return banned;
      continue;
    }
    const word = parts[0];
    for (const candidate of candidates.all) {
      if (matchesWord(candidate, word)) return banned;
    }
    // A run like "a b a d" may start with a real one-letter word, so the word may sit anywhere in it.
    if (candidates.runs.some((run) => run.includes(word)) || squeezedRuns.some((run) => run.includes(squeeze(word))))
      return banned;
  }
  return undefined;
}

function matchesWord(candidate: string, word: string): boolean {
  if (candidate === word) return true;
  const compound = word.length >= COMPOUND_MIN;
  if (compound && candidate.includes(word)) return true;
  // Stretched letters ("baaad"): compare with runs squeezed, but only when the prompt's form is longer,
  // so "as" never matches a banned "ass".
  if (candidate.length > word.length) {
    const c = squeeze(candidate);
    const w = squeeze(word);
    if (c === w || (compound && c.includes(w))) return true;
  }
  return false;
}

/**
 * The words of a normalised text, plus the forms a separator-evasion would hide: each
 * whitespace-delimited chunk with its inner punctuation removed ("b.a.d" -> "bad"), and every run of
 * single letters joined whole, however long ("b a d" -> "bad").
 */
function candidateWords(normalised: string): { tokens: string[]; all: Set<string>; runs: string[]; phrases: string[] } {
  const tokens = normalised.split(NOT_WORD).filter(Boolean);
  const all = new Set(tokens);
  for (const chunk of normalised.split(/\s+/)) {
    const joined = chunk.replace(/[^\p{L}\p{N}]+/gu, '');
    if (joined) all.add(joined);
  }
  const runs: string[] = [];
  let run = '';
  for (const t of [...tokens, '']) {
    if (t.length === 1) {
      run += t;
      continue;
    }
    if (run.length >= 2) runs.push(run);
    run = '';
  }
  return { tokens, all, runs, phrases: [tokens.join(' ')] };
}

function squeeze(s: string): string {
  return s.replace(/(.)\1+/gu, '$1');
}
