// Engine errors: callers tell them apart with instanceof, never by message text.

/** A model folder that cannot be used; `file` names the missing or malformed file. */
export class ModelLoadError extends Error {
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'ModelLoadError';
  }
}

/** A request the engine refuses; `field` names the offending request field. */
export class InvalidRequestError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/** A timelapse or diffusion strip that is over the attachment limit even at its smallest. */
export class MediaTooLargeError extends Error {
  constructor(readonly what: string, readonly byteLimit: number, readonly smallestBytes: number) {
    super(`expected ${what} of at most ${byteLimit} bytes, but the smallest one takes ${smallestBytes}`);
    this.name = 'MediaTooLargeError';
  }
}

/** Thrown by generate() when its AbortSignal fires; checked between steps. */
export class GenerationCancelledError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(readonly step: number, readonly total: number) {
    super(`generation cancelled after step ${step} of ${total}`);
    this.name = 'GenerationCancelledError';
  }
}
