// CLIP's byte-level BPE tokenizer (Radford et al., "Learning Transferable Visual Models From Natural
// Language Supervision", 2021), as OpenAI's simple_tokenizer.py and Hugging Face's CLIPTokenizer do it:
// unescape HTML entities, clean whitespace, lower-case (ftfy's mojibake repair is left out), split with
// CLIP's regex, map bytes to printable unicode, merge by rank.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A tokenizer folder or vocabulary that cannot be used; the message names the file and what is wrong. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

export interface ClipTokenizerOptions {
  /** token -> id, as in vocab.json */
  vocab: Record<string, number> | ReadonlyMap<string, number>;
  /** merges in rank order, each "left right" (merges.txt without its "#version" header) */
  merges: readonly string[];
  /** ids per encoded prompt, start and end tokens included (model_max_length); default 77 */
  maxLength?: number;
  bosToken?: string; // default <|startoftext|>
  eosToken?: string; // default <|endoftext|>
  /** default: the eos token (SD 1.x); SD 2.x uses "!" */
  padToken?: string;
}

export interface EncodedPrompt {
  /** exactly maxLength ids: start, tokens, end, padding */
  ids: number[];
  /** true when the prompt had more than maxLength - 2 tokens and some were cut (the end token is kept) */
  truncated: boolean;
  /** the prompt's own tokens before truncation, start and end tokens not counted */
  tokenCount: number;
}

const DEFAULT_BOS = '<|startoftext|>';
const DEFAULT_EOS = '<|endoftext|>';

// CLIP's pre-tokenizer regex (simple_tokenizer.py, re.IGNORECASE).
const WORD_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/**
 * GPT-2's reversible byte -> printable-unicode table, so BPE never sees whitespace or control bytes.
 * `order` lists the symbols as CLIP numbers them: printable bytes first, then the remapped ones.
 */
function bytesToUnicode(): { table: string[]; order: string[] } {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  const order = printable.map((b) => (table[b] = String.fromCodePoint(b)));
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) order.push((table[b] = String.fromCodePoint(256 + extra++)));
  }
  return { table, order };
}

const { table: BYTE_TO_UNICODE, order: BYTE_SYMBOL_ORDER } = bytesToUnicode();
const encoder = new TextEncoder();

/** The vocabulary CLIP derives from its merge list: 256 bytes, 256 bytes + </w>, one per merge, then bos/eos. */
export function vocabFromMerges(merges: readonly string[]): Map<string, number> {
  const vocab = new Map<string, number>();
  for (const symbol of BYTE_SYMBOL_ORDER) vocab.set(symbol, vocab.size);
  for (const symbol of BYTE_SYMBOL_ORDER) vocab.set(`${symbol}</w>`, vocab.size);
  for (const merge of merges) vocab.set(merge.replace(' ', ''), vocab.size);
  vocab.set(DEFAULT_BOS, vocab.size);
  vocab.set(DEFAULT_EOS, vocab.size);
  return vocab;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** The common HTML entities (CLIP unescapes prompts scraped from the web), numeric ones included. */
export function unescapeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/** CLIP's basic_clean + whitespace_clean + lower(): entities unescaped (twice, as CLIP), whitespace collapsed. */
export function cleanText(text: string): string {
  return unescapeHtml(unescapeHtml(text)).replace(/\s+/g, ' ').trim().toLowerCase();
}

export class ClipTokenizer {
  readonly maxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, readonly number[]>();

  constructor(options: ClipTokenizerOptions) {
    this.vocab = options.vocab instanceof Map ? options.vocab : new Map(Object.entries(options.vocab));
    options.merges.forEach((merge, rank) => {
      if (merge.split(' ').length !== 2)
        throw new TokenizerError(`expected merge ${rank + 1} to be two symbols separated by a space, got "${merge}"`);
      this.ranks.set(merge, rank);
    });
    this.maxLength = options.maxLength ?? 77;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 2)
      throw new TokenizerError(`expected maxLength >= 2, got ${this.maxLength}`);
    this.bosId = this.idOf(options.bosToken ?? DEFAULT_BOS, 'start');
    this.eosId = this.idOf(options.eosToken ?? DEFAULT_EOS, 'end');
    this.padId = this.idOf(options.padToken ?? options.eosToken ?? DEFAULT_EOS, 'pad');
  }

  /**
   * Reads a model's tokenizer/ folder: vocab.json and merges.txt (required), tokenizer_config.json and
   * special_tokens_map.json (optional: model_max_length, bos/eos/pad tokens).
   */
  static fromFolder(dir: string): ClipTokenizer {
    const vocabPath = join(dir, 'vocab.json');
    const mergesPath = join(dir, 'merges.txt');
    for (const path of [vocabPath, mergesPath]) {
      if (!existsSync(path)) throw new TokenizerError(`expected the tokenizer file ${path}, but it is missing`);
    }
    const vocab = readJson(vocabPath);
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) {
      throw new TokenizerError(`expected ${vocabPath} to hold an object of token -> id`);
    }
    const merges = parseMerges(readFileSync(mergesPath, 'utf8'));
    const config = {
      ...optionalJson(join(dir, 'special_tokens_map.json')),
      ...optionalJson(join(dir, 'tokenizer_config.json')),
    };
    const maxLength =
      typeof config.model_max_length === 'number' && config.model_max_length <= 4096 ? config.model_max_length : 77;
    return new ClipTokenizer({
      vocab: vocab as Record<string, number>,
      merges,
      maxLength,
      bosToken: tokenContent(config.bos_token),
      eosToken: tokenContent(config.eos_token),
      padToken: tokenContent(config.pad_token),
    });
  }

  /** The prompt's ids with start and end tokens, neither truncated nor padded. */
  tokenize(text: string): number[] {
    const ids = [this.bosId];
    for (const match of cleanText(text).matchAll(WORD_PATTERN)) {
      for (const id of this.encodeWord(match[0])) ids.push(id);
    }
    ids.push(this.eosId);
    return ids;
  }

  /** Exactly maxLength ids: truncated (keeping the end token) and padded with the pad token. */
  encode(text: string): EncodedPrompt {
    const raw = this.tokenize(text);
    const tokenCount = raw.length - 2;
    const truncated = raw.length > this.maxLength;
    const ids = truncated ? [...raw.slice(0, this.maxLength - 1), this.eosId] : raw;
    while (ids.length < this.maxLength) ids.push(this.padId);
    return { ids, truncated, tokenCount };
  }

  private idOf(token: string, role: string): number {
    const id = this.vocab.get(token);
    if (id === undefined)
      throw new TokenizerError(`expected the ${role} token "${token}" in the vocabulary, but it is not there`);
    return id;
  }

  private encodeWord(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let ids: number[];
    const direct = this.vocab.get(word);
    if (word === DEFAULT_BOS || word === DEFAULT_EOS) ids = direct === undefined ? [] : [direct];
    else {
      ids = [];
      for (const symbol of this.bpe(word)) {
        const id = this.vocab.get(symbol);
        // Every byte symbol is in a CLIP vocabulary; a hand-made one may lack some: skip, as HF's unk would.
        if (id !== undefined) ids.push(id);
      }
    }
    if (this.cache.size < 10_000) this.cache.set(word, ids);
    return ids;
  }

  /** Byte-encode one pre-token and merge its symbols by rank; the last symbol carries </w>. */
  private bpe(word: string): string[] {
    const symbols = Array.from(encoder.encode(word), (b) => BYTE_TO_UNICODE[b]);
    if (symbols.length === 0) return [];
    symbols[symbols.length - 1] += '</w>';
    while (symbols.length > 1) {
      // 1. find the adjacent pair with the lowest merge rank
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      // 2. merge every non-overlapping occurrence of that pair, left to right
      const left = symbols[best];
      const right = symbols[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else merged.push(symbols[i]);
      }
      symbols.splice(0, symbols.length, ...merged);
    }
    return symbols;
  }
}

/** merges.txt lines -> merges, dropping the "#version" header and blank lines. */
export function parseMerges(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line, i) => line.trim() !== '' && !(i === 0 && line.startsWith('#')));
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new TokenizerError(`expected ${path} to be valid JSON: ${(error as Error).message}`);
  }
}

function optionalJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  const value = readJson(path);
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** Special tokens appear either as strings or as {content: "..."} objects in HF configs. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}
