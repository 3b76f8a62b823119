// ℹ under a result: every parameter of the image, privately, with a short recipe code; `/imagine recipe:`
// makes that image again from the stored job, the same pixels (Discord strips PNG text chunks on upload,
// so the chunk alone cannot carry a recipe back). A code works in any server, under that server's rules.
import { MessageFlags, type ButtonInteraction, type ChatInputCommandInteraction } from 'discord.js';
import type { ButtonRef } from '../discord/custom-id.ts';
import type { ButtonFamily, Services } from '../discord/command-types.ts';
import { UnknownJobError } from '../discord/errors.ts';
import { escapeMarkdown } from '../discord/render.ts';
import type { GenerateRequest } from '../engine/types.ts';
import type { JobRecord } from '../queue/index.ts';
import { finishedJob } from './buttons.ts';
import { singleImageRequest } from './variants.ts';
import { submitJob } from './submit.ts';

/** Every parameter, one per line, as the user may copy them. */
export function recipeText(job: JobRecord, request: GenerateRequest, code: string): string {
  const r = request;
  const lines = [
    `**Prompt:** ${escapeMarkdown(r.prompt)}`,
    `**Negative:** ${r.negativePrompt ? escapeMarkdown(r.negativePrompt) : '(none)'}`,
    `**Seed:** ${r.count > 1 ? `${r.seed} to ${r.seed + r.count - 1} (${r.count} images)` : r.seed}`,
    `**Steps:** ${r.steps} · **Sampler:** ${r.sampler} · **Guidance:** ${r.guidance}`,
    `**Size:** ${r.width}×${r.height}`,
    ...(r.variation ? [`**Variation:** seed ${r.variation.seed} at ${r.variation.strength}`] : []),
    r.init
      ? `**Source image:** ${escapeMarkdown(job.extras?.source?.name ?? 'an image')} · **Strength:** ${r.init.strength}`
      : '**Source image:** (none; text only)',
    `**Model:** ${escapeMarkdown(job.result?.model ?? 'unknown')}`,
    '',
    `**Recipe:** \`${code}\` — \`/imagine recipe:${code}\` makes this image again (while the result is kept).`,
  ];
  return lines.join('\n').slice(0, 2000);
}

export const recipeButton: ButtonFamily = {
  actions: ['recipe'],
  async execute(interaction: ButtonInteraction, ref: ButtonRef, services: Services): Promise<void> {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const job = await finishedJob(interaction, ref, services);
    const request = singleImageRequest(job, ref.index);
    const code = await services.queue.saveRecipe(job.id, ref.index);
    await interaction.editReply({ content: recipeText(job, request, code), allowedMentions: { parse: [] } });
  },
};

/** /imagine recipe:<code>: the named image again, under this server's limits and moderation. */
export async function submitRecipe(
  interaction: ChatInputCommandInteraction,
  code: string,
  services: Services,
): Promise<void> {
  await interaction.deferReply();
  const found = await services.queue.recipe(code.trim());
  if (!found)
    throw new UnknownJobError(
      'That recipe code is unknown or has expired (codes last as long as their result). Press ℹ under a result for a new one.',
    );
  const { job, index } = found;
  await submitJob(interaction, services, singleImageRequest(job, index), 'recipe', {
    parentId: job.id,
    ...(job.extras?.source ? { extras: { source: job.extras.source } } : {}),
  });
}
