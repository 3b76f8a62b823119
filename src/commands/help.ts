// /help: what the bot does and how to drive it.
import { MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { SAMPLERS } from '../engine/types.ts';
import { ASPECT_CHOICES } from './aspect.ts';
import { describeStyles } from './settings-styles.ts';
import type { Services, SlashCommand } from '../discord/command-types.ts';

export const data = new SlashCommandBuilder().setName('help').setDescription('How to use the image bot');

export const HELP_TEXT = [
  '**/imagine** `prompt` — draws it. Options: `negative`, `seed`, `steps`, `guidance`, `count` (1–4, a grid), `aspect` (' +
    ASPECT_CHOICES.join(', ') +
    '), `sampler` (' +
    SAMPLERS.join(', ') +
    ').',
  "`style:` applies one of the server's styles (listed below when it has some). Start from a picture: `image` (an attachment) with `strength` 0.05–1 (default 0.6), or a Discord image link at the start of the prompt · `recipe:<code>` makes an image again exactly.",
  'Prompt flags work too: `--ar 16:9`, `--seed 5`, `--steps 20`, `--cfg 7`, `--n 4`, `--sampler euler`, `--no text` (merged with `negative`), `--video` (also post the timelapse). A flag and an option that disagree is an error — remove one.',
  '**Buttons**: 🔄 same parameters, new seed · Vary (Subtle/Strong) — small or large changes to that image · U1–U4 post one grid image alone · V1–V4 strong variations of that image · ⬆ Upscale (2×) enlarges and refines it · 🎛 Remix edits the words, same seed · ℹ every parameter and a recipe code · 🗑 deletes it (yours, or as a moderator). Anyone may press the others; the new job counts against your own limits.',
  '**🎞** under a result (or `--video` in the prompt) posts the film of its denoising steps, from static to the picture · **/diffusion** `prompt` (or `job` + `image` of an earlier result) shows the forward process (the picture noised step by step) above the reverse one (what the model predicts while removing noise).',
  '**/queue** your jobs and the queue length · **/cancel** your job (or `job:<id>`; moderators may cancel any).',
  '**/settings** (moderators): `show`, `limits`, `banned-words` (and the slur filter), `channels`, `moderator-role`, `samplers`, `styles`, `reset`.',
  'Results after 15 minutes arrive as a new message that mentions you.',
].join('\n');

export async function execute(interaction: ChatInputCommandInteraction, services: Services): Promise<void> {
  const { styles } = interaction.guildId ? await services.settings.get(interaction.guildId) : { styles: [] };
  const here = styles.length > 0 ? `\n**Styles in this server** (\`/imagine style:\`):\n${describeStyles(styles)}` : '';
  await interaction.reply({ content: `${HELP_TEXT}${here}`.slice(0, 2000), flags: MessageFlags.Ephemeral });
}

export const help: SlashCommand = { data, execute };
