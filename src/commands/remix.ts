// 🎛 Remix (Midjourney's Remix): a form with the prompt and negative prompt filled in; on submit the job
// runs again with the same seed and settings and the edited text. The text is checked as /imagine's is,
// and the queue moderates it like any prompt.
import {
  ActionRowBuilder,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  type ButtonInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { encodeCustomId, type ButtonRef } from '../discord/custom-id.ts';
import type { ButtonFamily, Services } from '../discord/command-types.ts';
import { MAX_NEGATIVE_CHARS, MAX_PROMPT_CHARS } from '../queue/index.ts';
import { finishedJob } from './buttons.ts';
import { checkPromptText } from './prompt-text.ts';
import { submitJob } from './submit.ts';
import { singleImageRequest } from './variants.ts';

const PROMPT = 'prompt';
const NEGATIVE = 'negative';

export const remixButton: ButtonFamily = {
  actions: ['remix'],
  // A modal must be the first answer, so the job is only looked up (no defer) before it opens.
  async execute(interaction: ButtonInteraction, ref: ButtonRef, services: Services): Promise<void> {
    const job = await finishedJob(interaction, ref, services);
    const input = (id: string, label: string, value: string, max: number, required: boolean) =>
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder()
          .setCustomId(id)
          .setLabel(label)
          .setStyle(TextInputStyle.Paragraph)
          .setMaxLength(max)
          .setRequired(required)
          .setValue(value.slice(0, max)),
      );
    const modal = new ModalBuilder()
      .setCustomId(encodeCustomId({ action: 'remix', jobId: job.id, index: ref.index }))
      .setTitle('Remix: same seed and settings, new words')
      .addComponents(
        input(PROMPT, 'Prompt', job.request.prompt, MAX_PROMPT_CHARS, true),
        input(NEGATIVE, 'Keep out (negative prompt)', job.request.negativePrompt ?? '', MAX_NEGATIVE_CHARS, false),
      );
    await interaction.showModal(modal);
  },

  async submit(interaction: ModalSubmitInteraction, ref: ButtonRef, services: Services): Promise<void> {
    const prompt = interaction.fields.getTextInputValue(PROMPT);
    const negative = interaction.fields.getTextInputValue(NEGATIVE);
    checkPromptText('prompt', prompt, MAX_PROMPT_CHARS, true);
    checkPromptText('negative', negative, MAX_NEGATIVE_CHARS, false);
    await interaction.deferReply();
    const parent = await finishedJob(interaction, ref, services);
    const base = singleImageRequest(parent, ref.index);
    const { negativePrompt: _old, ...rest } = base;
    const request = { ...rest, prompt: prompt.trim(), ...(negative.trim() ? { negativePrompt: negative.trim() } : {}) };
    await submitJob(interaction, services, request, 'remix', {
      parentId: parent.id,
      ...(parent.extras?.source ? { extras: { source: parent.extras.source } } : {}),
    });
  },
};
