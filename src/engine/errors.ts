// Engine errors: callers tell them apart with instanceof, never by message text.

/** A model folder that cannot be used; `file` names the missing or malformed file. */
export class ModelLoadError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
    this.name = 'ModelLoadError';
  }
}

/** A request the engine refuses; `field` names the offending request field. */
export class InvalidRequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/** Thrown by generate() when its AbortSignal fires; checked between steps. */
export class GenerationCancelledError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(
    readonly step: number,
    readonly total: number,
  ) {
    super(`generation cancelled after step ${step} of ${total}`);
    this.name = 'GenerationCancelledError';
  }
}

/**
 * The engine's worker thread died under a call (a native crash, out of memory). The engine starts a new
 * thread by itself; the job was not at fault as far as anyone can tell, so it may be run again.
 */
export class EngineCrashedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineCrashedError';
  }
}
