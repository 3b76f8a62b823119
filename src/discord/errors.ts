// Named user-facing errors (Sapphire style): an identifier for logs and metrics, a message the user
// reads (what went wrong and what to do), and optional context. The router turns any of these into
// an ephemeral reply; anything else becomes a generic "something broke" reply and a logged error.

export class UserFacingError extends Error {
  readonly identifier: string;
  readonly context?: Record<string, unknown>;
  constructor(identifier: string, message: string, context?: Record<string, unknown>) {
    super(message);
    this.name = 'UserFacingError';
    this.identifier = identifier;
    this.context = context;
  }
}

/** An option or prompt flag the user typed is out of range or contradictory. */
export class InvalidOptionError extends UserFacingError {
  constructor(message: string, context?: Record<string, unknown>) {
    super('invalidOption', message, context);
    this.name = 'InvalidOptionError';
  }
}

/** The user lacks Manage Server (or the moderator role), or does not own the job. */
export class NotAllowedError extends UserFacingError {
  constructor(message: string, context?: Record<string, unknown>) {
    super('notAllowed', message, context);
    this.name = 'NotAllowedError';
  }
}

/** A button refers to a job we do not know (expired, deleted, or a forged custom_id). */
export class UnknownJobError extends UserFacingError {
  constructor(message: string, context?: Record<string, unknown>) {
    super('unknownJob', message, context);
    this.name = 'UnknownJobError';
  }
}

/** Discord's relative timestamp markup: renders as "in 5 minutes" in the user's locale. */
export function relativeTime(epochMs: number): string {
  return `<t:${Math.ceil(epochMs / 1000)}:R>`;
}
