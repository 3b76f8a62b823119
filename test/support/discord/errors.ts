// Discord's JSON error answers. Route handlers throw these; the HTTP layer turns them into responses.

export class DiscordHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    /** Discord's nested `errors` object for 50035 Invalid Form Body. */
    readonly errors?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DiscordHttpError';
  }

  body(): Record<string, unknown> {
    return { message: this.message, code: this.code, ...(this.errors ? { errors: this.errors } : {}) };
  }
}

export const unknownMessage = () => new DiscordHttpError(404, 10008, 'Unknown Message');
export const unknownChannel = () => new DiscordHttpError(404, 10003, 'Unknown Channel');
export const unknownGuild = () => new DiscordHttpError(404, 10004, 'Unknown Guild');
export const unknownMember = () => new DiscordHttpError(404, 10007, 'Unknown Member');
export const unknownInteraction = () => new DiscordHttpError(404, 10062, 'Unknown interaction');
export const unknownWebhook = () => new DiscordHttpError(404, 10015, 'Unknown Webhook');
export const unknownApplication = () => new DiscordHttpError(404, 10002, 'Unknown Application');
export const unknownCommand = () => new DiscordHttpError(404, 10063, 'Unknown application command');
export const invalidWebhookToken = () => new DiscordHttpError(401, 50027, 'Invalid Webhook Token');
export const alreadyAcknowledged = () => new DiscordHttpError(400, 40060, 'Interaction has already been acknowledged.');
export const entityTooLarge = () => new DiscordHttpError(413, 40005, 'Request entity too large');
export const unauthorized = () => new DiscordHttpError(401, 0, '401: Unauthorized');
export const notFound = () => new DiscordHttpError(404, 0, '404: Not Found');
export const methodNotAllowed = () => new DiscordHttpError(405, 0, '405: Method Not Allowed');

/** One field problem inside a 50035 Invalid Form Body answer. */
export interface FieldError {
  /** Dotted path as Discord nests it, e.g. "components.0.components.5". */
  path: string;
  code: string;
  message: string;
}

export function invalidFormBody(problems: FieldError[]): DiscordHttpError {
  const errors: Record<string, unknown> = {};
  for (const problem of problems) {
    let node = errors;
    for (const key of problem.path.split('.')) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    const list = ((node._errors as unknown[]) ??= []);
    list.push({ code: problem.code, message: problem.message });
  }
  return new DiscordHttpError(400, 50035, 'Invalid Form Body', errors);
}
