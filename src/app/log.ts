// Structured JSON logs (pino) that can never carry the bot token or an interaction token.
// Three layers: redact paths blank the fields that hold secrets by name (authorization headers, token
// fields); every finished line is scrubbed of each secret's literal text, wherever it hides (a message,
// an error's stack, a URL, a nested object); and of every interaction token, which are credentials for
// 15 minutes and too many to list: they sit in webhook and callback URLs and in `token` fields at any depth.
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export const REDACTED = '[REDACTED]';

/** Field paths blanked whatever their value. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'discordToken',
  '*.discordToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.Authorization',
  '*.headers.Authorization',
  'password',
  '*.password',
];

export interface LoggerOptions {
  level?: string;
  /** Literal strings that must never be written (the bot token, a Redis password). */
  secrets?: Array<string | undefined>;
  /** Where lines go; default stdout (synchronously, so nothing is lost on exit). */
  destination?: DestinationStream;
  /** Fields on every line. */
  base?: Record<string, unknown>;
}

/** The forms a secret takes inside a JSON line: as is, and JSON-escaped if it has special characters. */
function secretForms(secrets: Array<string | undefined>): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    // Very short values would blank ordinary words; secrets shorter than 6 characters are not secrets.
    if (secret === undefined || secret.length < 6) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...forms].sort((a, b) => b.length - a.length);
}

// /webhooks/<application id>/<token> and /interactions/<interaction id>/<token>/callback, raw or JSON-escaped.
const TOKEN_IN_URL = /(\\?\/(?:webhooks|interactions)\\?\/\d{5,25}\\?\/)[A-Za-z0-9_.%-]{16,}/g;
const TOKEN_FIELD = /("token"\s*:\s*")(?:[^"\\]|\\.)*(")/g;

export function scrub(line: string, forms: readonly string[]): string {
  let out = line;
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
  if (out.includes('webhooks') || out.includes('interactions')) out = out.replace(TOKEN_IN_URL, `$1${REDACTED}`);
  if (out.includes('"token"')) out = out.replace(TOKEN_FIELD, `$1${REDACTED}$2`);
  return out;
}

/** Wrap a destination so each line is scrubbed before it is written. */
export function scrubbingStream(destination: DestinationStream, secrets: Array<string | undefined>): DestinationStream {
  const forms = secretForms(secrets);
  return {
    write(line: string) {
      destination.write(scrub(line, forms));
    },
  };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    scrubbingStream(destination, options.secrets ?? []),
  );
}
