// /imagine: validate (options + prompt flags), acknowledge, submit. Everything after that — queue
// position, previews, the final image — is the reply updater's job (src/discord/delivery.ts).
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { SAMPLERS, type GenerateRequest, type SamplerName } from '../engine/types.ts';
import { DEFAULT_LIMITS } from '../engine/validate.ts';
import { InvalidOptionError } from '../discord/errors.ts';
import { ASPECT_CHOICES, aspectToSize } from './aspect.ts';
import { mergeOption, parsePromptFlags } from './flags.ts';
import { checkPromptText } from './prompt-text.ts';
import { submitJob } from './submit.ts';
import type { Services, SlashCommand } from '../discord/command-types.ts';
import type { GuildSettings } from '../queue/index.ts';

export const MAX_PROMPT = 1000;
export const MAX_NEGATIVE = 500;

export const data = new SlashCommandBuilder()
  .setName('imagine')
  .setDescription('Create an image from a text prompt')
  .setDMPermission(false)
  .addStringOption((o) =>
    o
      .setName('prompt')
      .setDescription('What to draw (flags like --ar 16:9 --seed 5 --no text work too)')
      .setRequired(true)
      .setMaxLength(MAX_PROMPT),
  )
  .addStringOption((o) =>
    o.setName('negative').setDescription('What to keep out of the image').setMaxLength(MAX_NEGATIVE),
  )
  .addIntegerOption((o) =>
    o
      .setName('seed')
      .setDescription('Seed for repeatable results (random when left out)')
      .setMinValue(0)
      .setMaxValue(4294967295),
  )
  .addIntegerOption((o) =>
    o
      .setName('steps')
      .setDescription('Sampling steps (more is slower, often cleaner)')
      .setMinValue(1)
      .setMaxValue(DEFAULT_LIMITS.maxSteps),
  )
  .addNumberOption((o) =>
    o
      .setName('guidance')
      .setDescription(`How closely to follow the prompt (0-${DEFAULT_LIMITS.maxGuidance})`)
      .setMinValue(0)
      .setMaxValue(DEFAULT_LIMITS.maxGuidance),
  )
  .addIntegerOption((o) =>
    o
      .setName('count')
      .setDescription(`Number of images (1-${DEFAULT_LIMITS.maxCount}; more than one makes a grid)`)
      .setMinValue(1)
      .setMaxValue(DEFAULT_LIMITS.maxCount),
  )
  .addStringOption((o) =>
    o
      .setName('aspect')
      .setDescription('Aspect ratio')
      .addChoices(...ASPECT_CHOICES.map((a) => ({ name: a, value: a }))),
  )
  .addStringOption((o) =>
    o
      .setName('sampler')
      .setDescription('Sampling algorithm')
      .addChoices(...SAMPLERS.map((s) => ({ name: s, value: s }))),
  );

export interface BuiltRequest {
  request: GenerateRequest;
  stepsGiven: boolean;
  samplerGiven: boolean;
  video: boolean;
}

/** Options + prompt flags -> a full request (seed filled in). Throws InvalidOptionError. Synchronous: runs before the ack. */
export function buildRequest(
  interaction: ChatInputCommandInteraction,
  services: Pick<Services, 'defaultSide' | 'defaults' | 'randomSeed'>,
): BuiltRequest {
  const o = interaction.options;
  const raw = o.getString('prompt', true);
  checkPromptText('prompt', raw, MAX_PROMPT, true);
  const { prompt, flags } = parsePromptFlags(raw);
  if (prompt === '')
    throw new InvalidOptionError('The prompt is empty once the flags are taken out; describe what to draw.');
  checkPromptText('prompt', prompt, MAX_PROMPT, true);
  const negative = o.getString('negative');
  if (negative !== null) checkPromptText('negative', negative, MAX_NEGATIVE, false);
  const negatives = [negative, flags.negative].filter((n): n is string => !!n && n.trim() !== '');
  const givenSampler = mergeOption('sampler', o.getString('sampler'), flags.sampler);
  const sampler = givenSampler ?? services.defaults.sampler;
  if (!(SAMPLERS as readonly string[]).includes(sampler)) {
    throw new InvalidOptionError(`unknown sampler \`${sampler}\`; choose one of ${SAMPLERS.join(', ')}.`);
  }
  const count = mergeOption('count', o.getInteger('count'), flags.count) ?? 1;
  if (count < 1 || count > DEFAULT_LIMITS.maxCount)
    throw new InvalidOptionError(`count must be between 1 and ${DEFAULT_LIMITS.maxCount}, got ${count}.`);
  const givenSteps = mergeOption('steps', o.getInteger('steps'), flags.steps);
  const steps = givenSteps ?? services.defaults.steps;
  if (steps < 1 || steps > DEFAULT_LIMITS.maxSteps)
    throw new InvalidOptionError(`steps must be between 1 and ${DEFAULT_LIMITS.maxSteps}, got ${steps}.`);
  const guidance = mergeOption('guidance', o.getNumber('guidance'), flags.guidance) ?? services.defaults.guidance;
  if (guidance < 0 || guidance > DEFAULT_LIMITS.maxGuidance)
    throw new InvalidOptionError(`guidance must be between 0 and ${DEFAULT_LIMITS.maxGuidance}, got ${guidance}.`);
  const seed = mergeOption('seed', o.getInteger('seed'), flags.seed) ?? services.randomSeed();
  if (seed < 0 || seed > 0xffffffff)
    throw new InvalidOptionError(`seed must be between 0 and 4294967295, got ${seed}.`);
  const aspect = mergeOption('aspect', o.getString('aspect'), flags.aspect) ?? '1:1';
  const { width, height } = aspectToSize(aspect, services.defaultSide);
  const request: GenerateRequest = {
    prompt,
    ...(negatives.length > 0 ? { negativePrompt: negatives.join(', ') } : {}),
    seed,
    steps,
    guidance,
    width,
    height,
    sampler: sampler as SamplerName,
    count,
  };
  return {
    request,
    stepsGiven: givenSteps !== undefined,
    samplerGiven: givenSampler !== undefined,
    video: flags.video === true,
  };
}

/**
 * Fits what the user left to us under this server's settings, so a default is never what gets them
 * refused: the default steps under max_steps, the default sampler to one the server allows, and the size
 * of an aspect ratio under max_side (the long side at the limit, multiples of 8, the ratio kept).
 */
export function fitToServer(
  built: BuiltRequest,
  settings: Pick<GuildSettings, 'maxSteps' | 'maxSide' | 'allowedSamplers'>,
): GenerateRequest {
  const request = { ...built.request };
  if (!built.stepsGiven) request.steps = Math.min(request.steps, settings.maxSteps);
  if (!built.samplerGiven && !settings.allowedSamplers.includes(request.sampler))
    request.sampler = settings.allowedSamplers[0];
  const long = Math.max(request.width, request.height);
  if (long > settings.maxSide) {
    const floor8 = (v: number) => Math.max(8, Math.floor(v / 8) * 8);
    const scale = settings.maxSide / long;
    request.width = floor8(request.width * scale);
    request.height = floor8(request.height * scale);
  }
  return request;
}

export async function execute(interaction: ChatInputCommandInteraction, services: Services): Promise<void> {
  const built = buildRequest(interaction, services);
  await interaction.deferReply();
  const request = interaction.guildId
    ? fitToServer(built, await services.settings.get(interaction.guildId))
    : built.request;
  await submitJob(interaction, services, request, 'new', undefined, built.video ? { video: true } : undefined);
}

export const imagine: SlashCommand = { data, execute };
