// imagine's command line: flags -> a GenerateRequest minus what needs the model (default size).
import { parseArgs } from 'node:util';
import { SAMPLERS, type SamplerName } from '../engine/types.ts';

/** Bad command-line input; the CLI prints the message and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `usage: npm run imagine -- "<prompt>" [--seed N] [--steps N] [--count N] [--negative TEXT]
         [--sampler ${SAMPLERS.join('|')}] [--guidance X] [--width W --height H] [--latents FILE.npy] [--out FILE.png]
environment: MODEL_DIR (default models/emoji-tiny), EXECUTION_PROVIDER (cpu|cuda), ORT_INTRA_OP_THREADS, ORT_INTER_OP_THREADS`;

export interface CliArgs {
  prompt: string;
  negativePrompt?: string;
  seed?: number;
  /** Steps, sampler and guidance left out are the model's defaults (engine/model-defaults.ts). */
  steps?: number;
  count: number;
  sampler?: SamplerName;
  guidance?: number;
  width?: number;
  height?: number;
  out?: string;
  /** Starting noise from another tool: a .npy of [count, channels, height / 8, width / 8] float values. */
  latents?: string;
  help: boolean;
}

function int(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()))
    throw new UsageError(`expected --${name} to be a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export function parseCliArgs(argv: string[]): CliArgs {
  // biome-ignore lint/suspicious/noImplicitAnyLet: its type is inferred from the parseArgs call below
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        seed: { type: 'string' },
        steps: { type: 'string' },
        count: { type: 'string' },
        negative: { type: 'string' },
        sampler: { type: 'string' },
        guidance: { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
        latents: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { prompt: '', count: 0, help: true };
  const prompt = parsed.positionals.join(' ').trim();
  if (!prompt) throw new UsageError('expected a prompt, got none');
  const sampler = v.sampler;
  if (sampler !== undefined && !(SAMPLERS as readonly string[]).includes(sampler))
    throw new UsageError(`expected --sampler to be one of ${SAMPLERS.join(', ')}, got ${JSON.stringify(sampler)}`);
  let guidance: number | undefined;
  if (v.guidance !== undefined) {
    guidance = Number(v.guidance);
    if (v.guidance.trim() === '' || !Number.isFinite(guidance))
      throw new UsageError(`expected --guidance to be a number, got ${JSON.stringify(v.guidance)}`);
  }
  const width = int('width', v.width);
  const height = int('height', v.height);
  // One side alone keeps the picture square.
  return {
    prompt,
    negativePrompt: v.negative,
    seed: int('seed', v.seed),
    steps: int('steps', v.steps),
    count: int('count', v.count) ?? 1,
    sampler: sampler as SamplerName | undefined,
    guidance,
    width: width ?? height,
    height: height ?? width,
    out: v.out,
    latents: v.latents,
    help: false,
  };
}
