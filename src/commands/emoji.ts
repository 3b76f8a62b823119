// ➕ Emoji under a single result: a moderator turns the drawing into one of the server's emoji (the white
// around it made transparent, trimmed, 128x128, under 256 KiB), named from the prompt. The bot checks its
// own Manage Expressions permission first, so a missing grant is explained rather than failed on.
import { DiscordAPIError, MessageFlags, PermissionFlagsBits, Routes, type ButtonInteraction } from 'discord.js';
import { readFile } from 'node:fs/promises';
import type { ButtonRef } from '../discord/custom-id.ts';
import type { ButtonFamily, Services } from '../discord/command-types.ts';
import { NotAllowedError, UnknownJobError, UserFacingError } from '../discord/errors.ts';
import { moderatesJob } from '../discord/job-access.ts';
import { FlaggedImageError, isFlagged } from '../discord/safety.ts';
import { EmptyEmojiError, makeEmojiPng } from '../media/emoji-image.ts';
import { finishedJob } from './buttons.ts';

const FILLER = new Set(['a', 'an', 'the', 'of', 'with', 'and']);

/** 2-32 characters of [a-z0-9_] from the prompt's words ("A red lantern, glowing" -> "red_lantern_glowing"). */
export function emojiName(prompt: string): string {
  const words = prompt
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/--\S+(\s+\S+)?/g, ' ')
    .split(/[^a-z0-9]+/)
    .filter((w) => w && !FILLER.has(w));
  let name = '';
  for (const word of words) {
    const next = name ? `${name}_${word}` : word;
    if (next.length > 32) break;
    name = next;
  }
  if (name.length < 2) name = `emoji_${name || 'art'}`.slice(0, 32);
  return name;
}

export const emojiButton: ButtonFamily = {
  actions: ['emoji'],
  async execute(interaction: ButtonInteraction, ref: ButtonRef, services: Services): Promise<void> {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const job = await finishedJob(interaction, ref, services);
    if (!moderatesJob(interaction, job, await services.settings.get(job.owner.guildId)))
      throw new NotAllowedError('Only moderators can add a result to the server emoji.', { jobId: job.id });
    if (isFlagged(job, (ref.index ?? 1) - 1)) throw new FlaggedImageError();
    if (!interaction.appPermissions.has(PermissionFlagsBits.ManageGuildExpressions))
      throw new UserFacingError(
        'botPermission',
        'I need the **Manage Expressions** permission to add emoji: Server Settings → Roles → my role → turn on Manage Expressions, then press ➕ Emoji again.',
      );
    const path = job.result?.images[(ref.index ?? 1) - 1];
    if (!path) throw new UnknownJobError('That image is no longer stored. Use 🔄 to make a new one.');
    const png = await makeEmojiPng(await readFile(path)).catch((error: unknown) => {
      if (error instanceof EmptyEmojiError)
        throw new UserFacingError('emptyEmoji', 'That image is all white background; there is nothing to cut out.');
      throw error;
    });
    const name = emojiName(job.request.prompt);
    const emoji = (await interaction.client.rest
      .post(Routes.guildEmojis(job.owner.guildId), {
        body: { name, image: `data:image/png;base64,${png.toString('base64')}` },
        reason: `➕ Emoji by ${interaction.user.id} from job ${job.id}`,
      })
      .catch((error: unknown) => {
        throw emojiRefusal(error);
      })) as { id: string; name: string };
    services.logger.info({ guildId: job.owner.guildId, jobId: job.id, emoji: emoji.id }, 'emoji added');
    await interaction.editReply({ content: `Added <:${emoji.name}:${emoji.id}> as \`:${emoji.name}:\`.` });
  },
};

function emojiRefusal(error: unknown): unknown {
  if (!(error instanceof DiscordAPIError)) return error;
  if (error.code === 30008)
    return new UserFacingError(
      'emojiFull',
      "This server's emoji list is full. Remove an emoji (or boost the server for more slots), then try again.",
    );
  if (error.code === 50013)
    return new UserFacingError(
      'botPermission',
      'Discord says I lack Manage Expressions in this server; grant it to my role.',
    );
  return new UserFacingError('emojiRefused', `Discord refused the emoji: ${error.message.slice(0, 200)}`);
}
