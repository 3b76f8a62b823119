// ⬆ Upscale (2×), the "hires fix": the image enlarged twice (Lanczos) and refined by image-to-image at a
// low strength with its own seed and prompt, so the model draws the detail the enlargement lacks. The
// U-Net works on windows of its own size (tiled), which keeps the composition and the memory of one image.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { ButtonInteraction } from 'discord.js';
import type { ButtonRef } from '../discord/custom-id.ts';
import type { ButtonFamily, Services } from '../discord/command-types.ts';
import { InvalidOptionError, UnknownJobError } from '../discord/errors.ts';
import type { GenerateRequest } from '../engine/types.ts';
import { finishedJob } from './buttons.ts';
import { singleImageRequest } from './variants.ts';
import { submitJob } from './submit.ts';

/** How far the refinement may move from the enlarged image: detail, not a new picture. */
export const UPSCALE_STRENGTH = 0.35;

export const upscaleButton: ButtonFamily = {
  actions: ['upscale'],
  async execute(interaction: ButtonInteraction, ref: ButtonRef, services: Services): Promise<void> {
    await interaction.deferReply();
    const parent = await finishedJob(interaction, ref, services);
    const index = ref.index ?? 1;
    const base = singleImageRequest(parent, index);
    const [width, height] = [base.width * 2, base.height * 2];
    const { maxSide } = await services.settings.get(parent.owner.guildId);
    if (Math.max(width, height) > maxSide)
      throw new InvalidOptionError(
        `Upscaled, this image would be ${width}×${height}, over this server's ${maxSide} px limit for a side (moderators set it in /settings limits).`,
      );
    const model = services.models.find((m) => m.name === base.model) ?? services.models[0];
    if (!model?.imageToImage)
      throw new InvalidOptionError('This model cannot refine an image (it has no VAE encoder), so it cannot upscale.');
    const path = parent.result?.images[index - 1];
    if (!path) throw new UnknownJobError('That image is no longer stored. Use 🔄 to make a new one.');
    const enlarged = await sharp(await readFile(path))
      .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
      .png()
      .toBuffer();
    const imagePath = await services.queue.storeSource(enlarged);
    const request: GenerateRequest = {
      ...base,
      width,
      height,
      init: { imagePath, strength: UPSCALE_STRENGTH },
      tiled: true,
    };
    await submitJob(interaction, services, request, 'upscale', {
      parentId: parent.id,
      extras: { source: { name: `the ${base.width}×${base.height} image, enlarged 2×` } },
    });
  },
};
