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
