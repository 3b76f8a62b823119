// Aspect ratios -> width/height around the model's native side, keeping about the same pixel count
// (the model was trained near side x side) and multiples of 8 (the VAE downsamples by 8).
import { InvalidOptionError } from '../discord/errors.ts';

export const ASPECT_CHOICES = ['1:1', '3:2', '2:3', '4:3', '3:4', '16:9', '9:16'] as const;

export interface Size {
  width: number;
  height: number;
}

/** Accepts any "W:H" between 1:4 and 4:1 (the choices above, or a typed `--ar 5:4`). */
export function aspectToSize(aspect: string, side: number): Size {
  const match = /^(\d{1,3}):(\d{1,3})$/.exec(aspect.trim());
  if (!match || Number(match[1]) === 0 || Number(match[2]) === 0) {
    throw new InvalidOptionError(
      `aspect must look like 16:9, got \`${aspect}\`; choices: ${ASPECT_CHOICES.join(', ')}.`,
    );
  }
  const ratio = Number(match[1]) / Number(match[2]);
  if (ratio > 4 || ratio < 0.25) throw new InvalidOptionError(`aspect must be between 1:4 and 4:1, got \`${aspect}\`.`);
  return ratioToSize(ratio, side);
}

/** Width / height `ratio` (held between 1:4 and 4:1, as a picture's own shape may be) around `side`. */
export function ratioToSize(ratio: number, side: number): Size {
  const held = Math.min(4, Math.max(0.25, ratio));
  const round8 = (v: number) => Math.max(8, Math.round(v / 8) * 8);
  return { width: round8(side * Math.sqrt(held)), height: round8(side / Math.sqrt(held)) };
}
