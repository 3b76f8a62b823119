// Midjourney-style flags typed inside the prompt ("a cat --ar 16:9 --seed 5 --no text") are aliases of
// the /imagine options. They are removed from the prompt text. Rules (also in /help):
//  - an explicit option and a flag with the SAME value are fine; different values are an error that
//    names both, so the user knows which to remove;
//  - `--no` and the `negative` option are merged (joined with ", ") rather than conflicting;
//  - an unknown flag is an error (it would otherwise be drawn into the picture as text).
import { InvalidOptionError } from '../discord/errors.ts';

export interface PromptFlags {
  aspect?: string;
  seed?: number;
  steps?: number;
  guidance?: number;
  count?: number;
  sampler?: string;
  negative?: string;
  /** --video (no value): also post the denoising timelapse of this run. */
  video?: boolean;
}

export interface ParsedPrompt {
  prompt: string;
  flags: PromptFlags;
}

type FlagKey = keyof PromptFlags;

/** Flag spelling -> option name. */
const ALIASES: Record<string, FlagKey> = {
  ar: 'aspect',
  aspect: 'aspect',
  seed: 'seed',
  steps: 'steps',
  guidance: 'guidance',
  cfg: 'guidance',
  count: 'count',
  n: 'count',
  sampler: 'sampler',
  no: 'negative',
  video: 'video',
};

const NUMERIC: ReadonlySet<FlagKey> = new Set(['seed', 'steps', 'guidance', 'count']);
const INTEGER: ReadonlySet<FlagKey> = new Set(['seed', 'steps', 'count']);

/** Splits flags out of the prompt. Values of `--no` run until the next flag; others are one word. */
export function parsePromptFlags(text: string): ParsedPrompt {
  // "—" (an em dash) is what phones make of "--"; accept it too.
  const tokens = text
    .replace(/\u2014/g, '--')
    .split(/\s+/)
    .filter(Boolean);
  const kept: string[] = [];
  const flags: PromptFlags = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const match = /^--([a-z]+)$/i.exec(token);
    if (!match) {
      kept.push(token);
      continue;
    }
    const name = match[1].toLowerCase();
    const key = ALIASES[name];
    if (!key) {
      throw new InvalidOptionError(
        `unknown prompt flag \`--${name}\`; supported: ${Object.keys(ALIASES)
          .map((a) => `--${a}`)
          .join(', ')}. Remove it and try again.`,
      );
    }
    if (key === 'video') {
      flags.video = true; // a switch: takes no value
      continue;
    }
    const values: string[] = [];
    while (i + 1 < tokens.length && !/^--[a-z]+$/i.test(tokens[i + 1])) {
      values.push(tokens[++i]);
      if (key !== 'negative') break;
    }
    if (values.length === 0)
      throw new InvalidOptionError(`prompt flag \`--${name}\` needs a value, e.g. \`${example(key)}\`.`);
    const raw = values.join(' ');
    if (key === 'negative') {
      flags.negative = flags.negative ? `${flags.negative}, ${raw}` : raw;
    } else if (NUMERIC.has(key)) {
      const value = Number(raw);
      if (!Number.isFinite(value) || (INTEGER.has(key) && !Number.isInteger(value))) {
        throw new InvalidOptionError(
          `prompt flag \`--${name}\` expects ${INTEGER.has(key) ? 'a whole number' : 'a number'}, got \`${raw}\`.`,
        );
      }
      setOnce(flags, key, value, name);
    } else {
      setOnce(flags, key, raw.toLowerCase(), name);
    }
  }
  return { prompt: kept.join(' ').trim(), flags };
}

function setOnce(flags: PromptFlags, key: FlagKey, value: string | number, name: string): void {
  const previous = flags[key];
  if (previous !== undefined && previous !== value) {
    throw new InvalidOptionError(`prompt flag \`--${name}\` given twice (${previous} and ${value}); keep one.`);
  }
  (flags as Record<string, unknown>)[key] = value;
}

function example(key: FlagKey): string {
  switch (key) {
    case 'aspect':
      return '--ar 16:9';
    case 'negative':
      return '--no text';
    case 'sampler':
      return '--sampler euler_a';
    case 'guidance':
      return '--guidance 7.5';
    default:
      return `--${key} 5`;
  }
}

/**
 * An explicit option wins when the flag is absent or equal; a different flag value is an error.
 * Returns the merged value (or undefined when neither was given).
 */
export function mergeOption<T extends string | number>(
  name: string,
  option: T | null | undefined,
  flag: T | undefined,
): T | undefined {
  if (option === null || option === undefined) return flag;
  if (flag === undefined || flag === option) return option;
  throw new InvalidOptionError(
    `\`${name}\` was given twice: option ${option} and prompt flag ${flag}. Remove one of them.`,
  );
}
