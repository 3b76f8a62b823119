// /imagine: validate (options + prompt flags), acknowledge, submit. Everything after that — queue
// position, previews, the final image — is the reply updater's job (src/discord/delivery.ts).
import { SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { SAMPLERS, type GenerateRequest, type SamplerName } from '../engine/types.ts';
import { InvalidOptionError } from '../discord/errors.ts';
import { ASPECT_CHOICES, aspectToSize } from './aspect.ts';
import { mergeOption, parsePromptFlags } from './flags.ts';
import { checkPromptText } from './prompt-text.ts';
import { submitJob } from './submit.ts';
import { submitRecipe } from './recipe.ts';
import { chooseModel, modelChoices } from '../discord/model-choice.ts';
import { DEFAULT_STRENGTH, STRENGTH_RANGE, attachSource, chooseSource, splitLeadingUrl } from './source-image.ts';
import type { Services, SlashCommand } from '../discord/command-types.ts';
import {
  MAX_NEGATIVE_CHARS,
  MAX_PROMPT_CHARS,
  outOfRange,
  REQUEST_RANGES,
  type GivenFields,
  type Style,
} from '../queue/index.ts';

const { steps: STEPS, guidance: GUIDANCE, count: COUNT, seed: SEED } = REQUEST_RANGES;

export const data = new SlashCommandBuilder()
  .setName('imagine')
  .setDescription('Create an image from a text prompt')
  .setDMPermission(false)
  .addStringOption((o) =>
    o
      .setName('prompt')
      .setDescription('What to draw (flags like --ar 16:9 --seed 5 --no text work too)')
      .setMaxLength(MAX_PROMPT_CHARS),
  )
  .addStringOption((o) =>
    o.setName('negative').setDescription('What to keep out of the image').setMaxLength(MAX_NEGATIVE_CHARS),
  )
  .addIntegerOption((o) =>
    o
      .setName('seed')
      .setDescription('Seed for repeatable results (random when left out)')
      .setMinValue(SEED[0])
      .setMaxValue(SEED[1]),
  )
  .addIntegerOption((o) =>
    o
      .setName('steps')
      .setDescription('Sampling steps (more is slower, often cleaner)')
      .setMinValue(STEPS[0])
      .setMaxValue(STEPS[1]),
  )
  .addNumberOption((o) =>
    o
      .setName('guidance')
      .setDescription(`How closely to follow the prompt (${GUIDANCE[0]}-${GUIDANCE[1]})`)
      .setMinValue(GUIDANCE[0])
      .setMaxValue(GUIDANCE[1]),
  )
  .addIntegerOption((o) =>
    o
      .setName('count')
      .setDescription(`Number of images (${COUNT[0]}-${COUNT[1]}; more than one makes a grid)`)
      .setMinValue(COUNT[0])
      .setMaxValue(COUNT[1]),
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
  )
  .addAttachmentOption((o) =>
    o.setName('image').setDescription('Start from this picture (PNG, JPEG, WebP or GIF; up to 25 MB)'),
  )
  .addNumberOption((o) =>
    o
      .setName('strength')
      .setDescription(
        `With an image: how far to move away from it (${STRENGTH_RANGE[0]}-${STRENGTH_RANGE[1]}, default ${DEFAULT_STRENGTH})`,
      )
      .setMinValue(STRENGTH_RANGE[0])
      .setMaxValue(STRENGTH_RANGE[1]),
  )
  .addStringOption((o) =>
    o
      .setName('model')
      .setDescription("Which of the bot's models draws it (autocompleted)")
      .setAutocomplete(true)
      .setMaxLength(100),
  )
  .addStringOption((o) =>
    o
      .setName('style')
      .setDescription("One of this server's styles (/help lists them)")
      .setAutocomplete(true)
      .setMaxLength(32),
  )
  .addStringOption((o) =>
    o.setName('recipe').setDescription('A recipe code from ℹ under a result: make that image again').setMaxLength(40),
  );

export interface BuiltRequest {
  request: GenerateRequest;
  /** What the user chose; the queue fits the rest under the server's policy. */
  given: GivenFields;
  video: boolean;
  /** The aspect the user asked for (a picture keeps its own shape otherwise). */
  aspect?: string;
}

/**
 * Options + prompt flags -> a full request (seed filled in). Throws InvalidOptionError. Synchronous: runs
 * before the ack. `given.prompt` replaces the prompt option's text (/imagine takes a leading image link off it).
 */
export function buildRequest(
  interaction: ChatInputCommandInteraction,
  services: Pick<Services, 'size' | 'defaults' | 'randomSeed'>,
  given: { style?: Style; prompt?: string } = {},
): BuiltRequest {
  const o = interaction.options;
  const { style } = given;
  // A prompt handed in is part of one its caller already checked whole.
  const raw = given.prompt ?? o.getString('prompt', true);
  if (given.prompt === undefined) checkPromptText('prompt', raw, MAX_PROMPT_CHARS, true);
  const { prompt, flags } = parsePromptFlags(raw);
  if (prompt === '')
    throw new InvalidOptionError('The prompt is empty once the flags are taken out; describe what to draw.');
  checkPromptText('prompt', prompt, MAX_PROMPT_CHARS, true);
  const styled = style ? applyTemplate(style, prompt) : prompt;
  const negative = o.getString('negative');
  if (negative !== null) checkPromptText('negative', negative, MAX_NEGATIVE_CHARS, false);
  const negatives = [style?.negative, negative, flags.negative].filter((n): n is string => !!n && n.trim() !== '');
  const givenSampler = mergeOption('sampler', o.getString('sampler'), flags.sampler);
  const sampler = givenSampler ?? style?.sampler ?? services.defaults.sampler;
  if (!(SAMPLERS as readonly string[]).includes(sampler)) {
    throw new InvalidOptionError(`unknown sampler \`${sampler}\`; choose one of ${SAMPLERS.join(', ')}.`);
  }
  const count = mergeOption('count', o.getInteger('count'), flags.count) ?? 1;
  const givenSteps = mergeOption('steps', o.getInteger('steps'), flags.steps);
  const steps = givenSteps ?? style?.steps ?? services.defaults.steps;
  const guidance =
    mergeOption('guidance', o.getNumber('guidance'), flags.guidance) ?? style?.guidance ?? services.defaults.guidance;
  const seed = mergeOption('seed', o.getInteger('seed'), flags.seed) ?? services.randomSeed();
  const values = { count, steps, guidance, seed };
  const bad = outOfRange(values);
  if (bad) {
    const [min, max] = REQUEST_RANGES[bad];
    throw new InvalidOptionError(`${bad} must be between ${min} and ${max}, got ${values[bad]}.`);
  }
  const givenAspect = mergeOption('aspect', o.getString('aspect'), flags.aspect) ?? style?.aspect;
  const { width, height } = aspectToSize(givenAspect ?? '1:1', services.size);
  const request: GenerateRequest = {
    prompt: styled,
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
    given: {
      steps: givenSteps !== undefined,
      sampler: givenSampler !== undefined,
      sizeMultiple: services.size.multiple,
    },
    video: flags.video === true,
    ...(givenAspect ? { aspect: givenAspect } : {}),
  };
}

export async function execute(interaction: ChatInputCommandInteraction, services: Services): Promise<void> {
  const recipe = interaction.options.getString('recipe');
  if (recipe !== null) {
    const others = interaction.options.data.filter((option) => option.name !== 'recipe').map((option) => option.name);
    if (others.length > 0)
      throw new InvalidOptionError(
        `A recipe makes its image exactly as it was; leave out ${others.join(', ')} (🎛 Remix changes the words).`,
      );
    return submitRecipe(interaction, recipe, services);
  }
  const here = await services.settings.get(interaction.guildId ?? 'dm');
  const style = chosenStyle(interaction, here.styles);
  const model = chooseModel(services.models, here, interaction.options.getString('model'));
  // Sizes, defaults and image-to-image are the chosen model's.
  const forModel = {
    ...services,
    size: model.size,
    defaults: model.defaults,
    imageToImage: model.imageToImage,
  };
  const raw = interaction.options.getString('prompt');
  if (raw === null)
    throw new InvalidOptionError('Describe what to draw in the prompt option (or give a recipe code from ℹ).');
  checkPromptText('prompt', raw, MAX_PROMPT_CHARS, true);
  // A picture to start from: the image option, or a CDN link before the words (fetched after the ack).
  const { url, rest } = splitLeadingUrl(raw);
  const source = chooseSource(interaction, url, forModel);
  const built = buildRequest(interaction, forModel, { style, prompt: rest });
  if (services.models.length > 1) built.request.model = model.name;
  await interaction.deferReply();
  const request = source ? await attachSource(built.request, source, built.aspect, forModel) : built.request;
  const extras = {
    ...(built.video ? { video: true } : {}),
    ...(source ? { source: { name: source.name } } : {}),
    ...(style ? { style: style.name } : {}),
  };
  await submitJob(interaction, services, request, 'new', {
    ...(Object.keys(extras).length > 0 ? { extras } : {}),
    given: built.given,
  });
}

/** The server's style the `style` option names (undefined without one). Throws InvalidOptionError. */
function chosenStyle(interaction: ChatInputCommandInteraction, styles: readonly Style[]): Style | undefined {
  const name = interaction.options.getString('style')?.trim();
  if (!name) return undefined;
  const style = styles.find((s) => s.name === name);
  if (!style)
    throw new InvalidOptionError(
      `This server has no style named \`${name.slice(0, 32)}\`${styles.length ? `; it has ${styles.map((s) => s.name).join(', ')}` : ''}.`,
    );
  return style;
}

function applyTemplate(style: Style, prompt: string): string {
  const styled = style.template.replaceAll('{prompt}', prompt);
  if ([...styled].length > MAX_PROMPT_CHARS)
    throw new InvalidOptionError(
      `With the ${style.name} style the prompt is ${[...styled].length} characters; at most ${MAX_PROMPT_CHARS} fit. Shorten it.`,
    );
  return styled;
}

/** The server's styles whose name holds what is typed so far. */
export async function autocomplete(interaction: AutocompleteInteraction, services: Services): Promise<void> {
  const focused = interaction.options.getFocused(true);
  const typed = String(focused.value).toLowerCase();
  const here = await services.settings.get(interaction.guildId ?? 'dm');
  if (focused.name === 'model') return interaction.respond(modelChoices(services.models, here, typed));
  if (focused.name !== 'style') return interaction.respond([]);
  const { styles } = here;
  const choices = styles
    .filter((s) => s.name.includes(typed))
    .slice(0, 25)
    .map((s) => ({ name: `${s.name} — ${s.template}`.slice(0, 100), value: s.name }));
  await interaction.respond(choices);
}

export const imagine: SlashCommand = { data, execute, autocomplete };
