// Environment (and an optional .env file) -> one validated, typed, frozen settings object.
// Every variable is checked and all problems are reported together, each naming the variable.
import { totalmem } from 'node:os';
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { config as loadDotenv } from 'dotenv';

/** The project root: the default model ships inside it, wherever the process was started from. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const EXECUTION_PROVIDERS = ['cpu', 'cuda'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** all: bot + in-process worker (default); bot: Discord front end only; worker: one GPU worker, no Discord. */
export const ROLES = ['all', 'bot', 'worker'] as const;
export type Role = (typeof ROLES)[number];
/** local: the in-process worker; bullmq: jobs go through BullMQ on REDIS_URL to worker processes. */
export const QUEUE_BACKENDS = ['local', 'bullmq'] as const;
export type QueueBackend = (typeof QUEUE_BACKENDS)[number];

export type CommandRegistration = { mode: 'global' } | { mode: 'guild'; guildId: string } | { mode: 'off' };

export interface Config {
  /** Bot token; non-enumerable, so JSON.stringify, console.log and pino never see it. */
  readonly discordToken: string | undefined;
  readonly discordApiUrl: string;
  /** An origin accepted besides Discord's CDN for pictures users give (a Discord-compatible server's). */
  readonly discordCdnUrl: string | undefined;
  readonly dataDir: string;
  readonly modelDir: string;
  /** A folder of model folders offered besides MODEL_DIR's (the default); unset: MODEL_DIR alone. */
  readonly modelsDir: string | undefined;
  /** Most megabytes of model weights kept loaded at once with MODELS_DIR (least recently used closed first). */
  readonly modelMemoryMb: number;
  readonly redisUrl: string | undefined;
  readonly executionProvider: ExecutionProvider;
  readonly intraOpThreads: number | undefined;
  readonly interOpThreads: number | undefined;
  readonly logLevel: LogLevel;
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  readonly jobTimeoutSeconds: number;
  readonly jobRetentionDays: number;
  readonly maxQueuedJobs: number;
  readonly shutdownGraceSeconds: number;
  readonly registerCommands: CommandRegistration;
  readonly role: Role;
  readonly queueBackend: QueueBackend;
  /** GPU worker name in logs and BullMQ (default host-pid). */
  readonly workerName: string | undefined;
  readonly workerLockSeconds: number;
}

/** One line per problem, each naming the variable, what is expected and what came. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}

export interface ParseOptions {
  /** The bot needs a token; tools that only read settings do not. Default true. */
  requireToken?: boolean;
  /** Base for relative paths. Default process.cwd(). */
  cwd?: string;
}

type Env = Record<string, string | undefined>;

/** Validate an environment map; throws ConfigError listing every problem. Pure: touches no files. */
export function parseConfig(env: Env, options: ParseOptions = {}): Config {
  const problems: string[] = [];
  const cwd = options.cwd ?? process.cwd();
  // Empty strings count as unset: `FOO=` in a .env file means "use the default".
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const fail = (name: string, expected: string, got: string): undefined => {
    problems.push(`${name}: expected ${expected}, got ${got}`);
    return undefined;
  };

  const int = (name: string, min: number, max: number): number | undefined => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      return fail(name, `a whole number from ${min} to ${max}`, JSON.stringify(raw));
    }
    return Number(raw);
  };
  const positive = (name: string, fallback: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || !(value > 0)) {
      fail(name, 'a number greater than 0', JSON.stringify(raw));
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, choices: readonly T[], fallback: T): T => {
    const raw = get(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (!(choices as readonly string[]).includes(raw)) {
      fail(name, `one of ${choices.join(', ')}`, JSON.stringify(raw));
      return fallback;
    }
    return raw as T;
  };
  const url = (name: string, protocols: string[]): string | undefined => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      return fail(name, `a URL starting with ${protocols.join(' or ')}`, redactUrl(raw));
    }
    if (!protocols.includes(`${parsed.protocol.replace(/:$/, '')}://`)) {
      return fail(name, `a URL starting with ${protocols.join(' or ')}`, redactUrl(raw));
    }
    return raw;
  };
  const path = (name: string, fallback: string): string => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (raw.includes('\0')) {
      fail(name, 'a file system path', 'a value containing a NUL character');
      return fallback;
    }
    return isAbsolute(raw) ? raw : resolve(cwd, raw);
  };

  // The token is checked for presence and shape only; its value never goes into a message.
  const role = oneOf('ROLE', ROLES, 'all');
  const discordToken = get('DISCORD_TOKEN');
  // A GPU worker never talks to Discord.
  if (discordToken === undefined && options.requireToken !== false && role !== 'worker') {
    problems.push(
      'DISCORD_TOKEN: expected the bot token from the Discord developer portal (Bot -> Reset Token), got nothing',
    );
  } else if (discordToken !== undefined && /\s/.test(discordToken)) {
    problems.push(
      'DISCORD_TOKEN: expected a token without spaces, got a value containing whitespace (did you paste "Bot <token>"?)',
    );
  }

  const discordApiUrl = (url('DISCORD_API_URL', ['http://', 'https://']) ?? 'https://discord.com/api').replace(
    /\/+$/,
    '',
  );
  const discordCdnUrl = url('DISCORD_CDN_URL', ['http://', 'https://']);
  const dataDir = path('DATA_DIR', resolve(cwd, 'data'));
  const modelDir = path('MODEL_DIR', join(PROJECT_ROOT, 'models', 'emoji-tiny'));
  const modelsDir = get('MODELS_DIR') === undefined ? undefined : path('MODELS_DIR', '');
  const modelMemoryMb = int('MODEL_MEMORY_MB', 64, 4_194_304) ?? Math.round(totalmem() / 2 ** 20 / 2);
  const redisUrl = url('REDIS_URL', ['redis://', 'rediss://']);
  const executionProvider = oneOf('EXECUTION_PROVIDER', EXECUTION_PROVIDERS, 'cpu');
  const intraOpThreads = int('ORT_INTRA_OP_THREADS', 1, 1024);
  const interOpThreads = int('ORT_INTER_OP_THREADS', 1, 1024);
  const logLevel = oneOf('LOG_LEVEL', LOG_LEVELS, 'info');
  const metricsPort = int('METRICS_PORT', 0, 65535);
  const metricsHost = get('METRICS_HOST') ?? '127.0.0.1';
  const jobTimeoutSeconds = positive('JOB_TIMEOUT_SECONDS', 300);
  const jobRetentionDays = positive('JOB_RETENTION_DAYS', 7);
  const maxQueuedJobs = int('MAX_QUEUED_JOBS', 1, 1_000_000) ?? 100;
  const shutdownGraceSeconds = positive('SHUTDOWN_GRACE_SECONDS', 8);
  // Split roles only make sense with BullMQ; a single process defaults to the in-process worker.
  const queueBackend = oneOf('QUEUE_BACKEND', QUEUE_BACKENDS, role === 'all' ? 'local' : 'bullmq');
  if (role !== 'all' && queueBackend !== 'bullmq')
    problems.push(
      `QUEUE_BACKEND: expected bullmq with ROLE=${role} (the bot and its workers meet in Redis), got "${queueBackend}"`,
    );
  if (queueBackend === 'bullmq' && redisUrl === undefined)
    problems.push(
      `REDIS_URL: expected a redis:// URL because QUEUE_BACKEND is bullmq${role !== 'all' ? ` (ROLE=${role})` : ''}, got nothing`,
    );
  const workerName = get('WORKER_NAME');
  if (workerName !== undefined && !/^[\w.:-]{1,64}$/.test(workerName))
    problems.push(
      `WORKER_NAME: expected 1 to 64 letters, digits, '.', ':', '_' or '-', got ${JSON.stringify(workerName)}`,
    );
  const workerLockSeconds = positive('WORKER_LOCK_SECONDS', 30);

  let registerCommands: CommandRegistration = { mode: 'global' };
  const registration = get('REGISTER_COMMANDS');
  if (registration !== undefined) {
    const lower = registration.toLowerCase();
    if (lower === 'global') registerCommands = { mode: 'global' };
    else if (lower === 'off' || lower === 'false' || lower === 'no') registerCommands = { mode: 'off' };
    else if (/^\d{17,20}$/.test(registration)) registerCommands = { mode: 'guild', guildId: registration };
    else fail('REGISTER_COMMANDS', 'global, off, or a guild id (17 to 20 digits)', JSON.stringify(registration));
  }

  if (problems.length > 0) throw new ConfigError(problems);

  const config = {
    discordApiUrl,
    discordCdnUrl,
    dataDir,
    modelDir,
    modelsDir,
    modelMemoryMb,
    redisUrl,
    executionProvider,
    intraOpThreads,
    interOpThreads,
    logLevel,
    metricsPort,
    metricsHost,
    jobTimeoutSeconds,
    jobRetentionDays,
    maxQueuedJobs,
    shutdownGraceSeconds,
    registerCommands: Object.freeze(registerCommands),
    role,
    queueBackend,
    workerName,
    workerLockSeconds,
  } as Config;
  Object.defineProperty(config, 'discordToken', { value: discordToken, enumerable: false });
  return Object.freeze(config);
}

/** Hide a URL's password (Redis URLs carry one) before it goes into a message. */
export function redactUrl(raw: string): string {
  return JSON.stringify(raw.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@'));
}

/**
 * Make DATA_DIR if needed and prove it is writable by writing a probe file: a read-only volume or a
 * wrong owner should stop the bot at start, not at the first finished image.
 */
export function prepareDataDir(dataDir: string): void {
  try {
    makeDirs(dataDir);
    if (!statSync(dataDir).isDirectory()) throw new Error('not a directory');
    accessSync(dataDir, constants.W_OK);
    const probe = join(dataDir, `.write-test-${process.pid}`);
    writeFileSync(probe, 'ok');
    rmSync(probe);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError([
      `DATA_DIR: expected a directory this process (uid ${process.getuid?.() ?? '?'}) can create and write, got ${JSON.stringify(dataDir)} (${reason})`,
    ]);
  }
}

/**
 * mkdir -p, one level at a time: Node 20's recursive mkdirSync spins forever on some paths where a
 * parent refuses new entries with ENOENT (for example under /proc).
 */
function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirs(parent);
  mkdirSync(dir);
}

/** Read .env (if any; real environment variables win), validate, and check DATA_DIR. */
export function loadConfig(options: ParseOptions & { envFile?: string } = {}): Config {
  loadDotenv({ path: options.envFile ?? resolve(options.cwd ?? process.cwd(), '.env'), quiet: true });
  const config = parseConfig(process.env, options);
  prepareDataDir(config.dataDir);
  return config;
}

/** What the start-up log shows: everything but the token, whose presence alone is reported. */
export function describeConfig(config: Config): Record<string, unknown> {
  // (The spread skips the non-enumerable token already.)
  return {
    ...config,
    redisUrl: config.redisUrl === undefined ? undefined : JSON.parse(redactUrl(config.redisUrl)),
    discordTokenSet: config.discordToken !== undefined,
  };
}
