// What the media layer refuses with.

/** A timelapse or diffusion strip that is over the attachment limit even at its smallest. */
export class MediaTooLargeError extends Error {
  constructor(
    readonly what: string,
    readonly byteLimit: number,
    readonly smallestBytes: number,
  ) {
    super(`expected ${what} of at most ${byteLimit} bytes, but the smallest one takes ${smallestBytes}`);
    this.name = 'MediaTooLargeError';
  }
}

/** Why a picture a user gave cannot be a source image; `message` is written for that user. */
export type SourceImageProblem = 'too_large' | 'not_an_image' | 'format' | 'too_many_pixels' | 'animated';

export class SourceImageError extends Error {
  constructor(
    readonly problem: SourceImageProblem,
    message: string,
  ) {
    super(message);
    this.name = 'SourceImageError';
  }
}
