// /settings styles: moderators add (or replace), remove and list the server's named styles. The shape
// and limits of a style are the queue's (src/queue/styles.ts); this turns options into one and back.
import type { ChatInputCommandInteraction, SlashCommandSubcommandBuilder } from 'discord.js';
import { SAMPLERS, type SamplerName } from '../engine/types.ts';
import { InvalidOptionError } from '../discord/errors.ts';
import {
  MAX_STYLES,
  MAX_TEMPLATE_CHARS,
  REQUEST_RANGES,
  type GuildSettings,
  type SettingsChange,
  type Style,
} from '../queue/index.ts';
import { ASPECT_CHOICES } from './aspect.ts';

export function stylesSubcommand(s: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  return s
    .setName('styles')
    .setDescription('Named styles members can pick with /imagine style:')
    .addStringOption((o) =>
      o
        .setName('action')
        .setDescription('What to do')
        .setRequired(true)
        .addChoices(
          { name: 'add (or replace)', value: 'add' },
          { name: 'remove', value: 'remove' },
          { name: 'list', value: 'list' },
        ),
    )
    .addStringOption((o) =>
      o.setName('name').setDescription('Style name: lower-case letters, digits, _ or -').setMaxLength(100),
    )
    .addStringOption((o) =>
      o
        .setName('template')
        .setDescription('The prompt with {prompt} where the words go, e.g. "{prompt}, watercolour"')
        .setMaxLength(MAX_TEMPLATE_CHARS + 100),
    )
    .addStringOption((o) =>
      o
        .setName('negative')
        .setDescription('What the style keeps out')
        .setMaxLength(MAX_TEMPLATE_CHARS + 100),
    )
    .addIntegerOption((o) =>
      o
        .setName('steps')
        .setDescription('Sampling steps')
        .setMinValue(REQUEST_RANGES.steps[0])
        .setMaxValue(REQUEST_RANGES.steps[1]),
    )
    .addNumberOption((o) =>
      o
        .setName('guidance')
        .setDescription('How closely to follow the prompt')
        .setMinValue(REQUEST_RANGES.guidance[0])
        .setMaxValue(REQUEST_RANGES.guidance[1]),
    )
    .addStringOption((o) =>
      o
        .setName('sampler')
        .setDescription('Sampling algorithm')
        .addChoices(...SAMPLERS.map((v) => ({ name: v, value: v }))),
    )
    .addStringOption((o) =>
      o
        .setName('aspect')
        .setDescription('Aspect ratio')
        .addChoices(...ASPECT_CHOICES.map((a) => ({ name: a, value: a }))),
    );
}

/** One line per style, as /settings and /help show them. */
export function describeStyles(styles: readonly Style[]): string {
  if (styles.length === 0) return 'No styles yet.';
  return styles
    .map((s) => {
      const extras = [
        s.negative ? `no: ${s.negative}` : '',
        s.steps ? `${s.steps} steps` : '',
        s.guidance !== undefined ? `guidance ${s.guidance}` : '',
        s.sampler ?? '',
        s.aspect ?? '',
      ].filter(Boolean);
      return `\`${s.name}\` — ${s.template.replace(/`/g, "'")}${extras.length ? ` (${extras.join(' · ')})` : ''}`;
    })
    .join('\n')
    .slice(0, 1800);
}

/** The change /settings styles asks for (undefined for list). Throws InvalidOptionError. */
export function stylesChange(interaction: ChatInputCommandInteraction): SettingsChange | undefined {
  const o = interaction.options;
  const action = o.getString('action', true);
  if (action === 'list') return undefined;
  const name = o.getString('name')?.trim();
  if (!name) throw new InvalidOptionError('Give the style a `name`.');
  if (action === 'remove')
    return (now: GuildSettings) => {
      if (!now.styles.some((s) => s.name === name))
        throw new InvalidOptionError(`There is no style named \`${name}\`.`);
      return { styles: now.styles.filter((s) => s.name !== name) };
    };
  const template = o.getString('template');
  if (template === null) throw new InvalidOptionError('Give the `template`, with {prompt} where the words go.');
  const style: Partial<Style> = { name, template };
  const negative = o.getString('negative');
  const steps = o.getInteger('steps');
  const guidance = o.getNumber('guidance');
  const sampler = o.getString('sampler') as SamplerName | null;
  const aspect = o.getString('aspect');
  if (negative) style.negative = negative;
  if (steps !== null) style.steps = steps;
  if (guidance !== null) style.guidance = guidance;
  if (sampler) style.sampler = sampler;
  if (aspect) style.aspect = aspect;
  return (now: GuildSettings) => {
    const others = now.styles.filter((s) => s.name !== name);
    if (others.length >= MAX_STYLES)
      throw new InvalidOptionError(`This server has ${MAX_STYLES} styles, the most it can have; remove one first.`);
    return { styles: [...others, style as Style] };
  };
}
