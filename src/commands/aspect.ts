// Aspect ratios typed by users -> width/height by the model's size rule (src/engine/model-size.ts): about
// its native pixel count in multiples its U-Net runs at, or for SDXL the training bucket nearest the ratio.
import { sizeForRatio, type Size, type SizeRule } from '../engine/model-size.ts';
import { InvalidOptionError } from '../discord/errors.ts';

export const ASPECT_CHOICES = ['1:1', '3:2', '2:3', '4:3', '3:4', '16:9', '9:16'] as const;

/** Accepts any "W:H" between 1:4 and 4:1 (the choices above, or a typed `--ar 5:4`). */
export function aspectToSize(aspect: string, rule: SizeRule): Size {
  const match = /^(\d{1,3}):(\d{1,3})$/.exec(aspect.trim());
  if (!match || Number(match[1]) === 0 || Number(match[2]) === 0) {
    throw new InvalidOptionError(
      `aspect must look like 16:9, got \`${aspect}\`; choices: ${ASPECT_CHOICES.join(', ')}.`,
    );
  }
  const ratio = Number(match[1]) / Number(match[2]);
  if (ratio > 4 || ratio < 0.25) throw new InvalidOptionError(`aspect must be between 1:4 and 4:1, got \`${aspect}\`.`);
  return sizeForRatio(ratio, rule);
}
