// One end-to-end world: the local Discord-compatible server, a real queue on a temp SQLite file, the
// worker on the tiny fixture model, and the real discord.js client via startBot. restart() stops
// bot + worker + queue and starts them again on the same DATA_DIR (as a process restart would).
import { botRegistry } from '../../src/commands/index.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiffusionPipeline, silentLogger, type ImageGenerator, type StepProgress } from '../../src/engine/index.ts';
import {
  GuildSettingsStore,
  JobQueue,
  Worker,
  openStore,
  type JobQueueOptions,
  type Store,
  type WorkerOptions,
} from '../../src/queue/index.ts';
import { openRunner, type JobRunner } from '../../src/app/runner.ts';
import { startBot, type Bot, type BotOptions } from '../../src/discord/bot.ts';
import { startRedis, type RedisServer } from '../queue/helpers.ts';
import { registerBotCommands } from '../../src/app/register-commands.ts';
import {
  isEphemeral,
  startDiscordServer,
  type DiscordServer,
  type DiscordServerOptions,
  type FakeGuild,
  type InteractionHandle,
  type StoredMessage,
} from '../support/discord/index.ts';
import type { CommandRunEvent } from '../../src/discord/router.ts';

export const FIXTURE = join(import.meta.dirname, '../fixtures/models/tiny-fp32');

/**
 * E2E_BACKEND=bullmq runs every e2e test over the scale-out backend: store and BullMQ on a redis-server
 * started here, the Dispatcher in fair order (prefetch 0: exactly the local order), and the (wrapped)
 * engine behind a GpuWorker, so every job goes through Redis both ways. test/scale covers separate
 * worker processes.
 */
export const E2E_BULLMQ = process.env.E2E_BACKEND === 'bullmq';

const sharedEngines = new Map<string, Promise<DiffusionPipeline>>();
/** One engine per model folder per test file: loading sessions is the slow part. */
export function engine(modelDir = FIXTURE): Promise<DiffusionPipeline> {
  let loading = sharedEngines.get(modelDir);
  if (!loading)
    sharedEngines.set(
      modelDir,
      (loading = DiffusionPipeline.load(modelDir, { logger: silentLogger, intraOpNumThreads: 1 })),
    );
  return loading;
}

/**
 * The real engine, paced: it generates for real (real previews, real images), then hands the step
 * progress out `stepMs` apart before resolving, so a test sees a job that runs long enough to show
 * previews, be cancelled mid-run, or be interrupted by a restart. Honours the abort signal.
 */
export function paced(base: ImageGenerator, stepMs: number): ImageGenerator {
  return {
    modelName: base.modelName,
    async generate(request, options = {}) {
      const steps: StepProgress[] = [];
      const result = await base.generate(request, { ...options, onStep: (p) => steps.push(p) });
      for (const step of steps) {
        await new Promise((resolve, reject) => {
          if (options.signal?.aborted) return reject(options.signal.reason);
          const timer = setTimeout(resolve, stepMs);
          options.signal?.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              reject(options.signal!.reason);
            },
            { once: true },
          );
        });
        options.onStep?.(step);
      }
      return result;
    },
  };
}

export const quietLogger = { info() {}, warn() {}, error() {}, debug() {} };

export interface HarnessOptions {
  server?: DiscordServerOptions;
  bot?: Partial<BotOptions>;
  /** Wraps the engine (e.g. to slow it down). */
  wrapEngine?: (engine: ImageGenerator) => ImageGenerator;
  /** Model folder for the engine. Default the tiny-fp32 fixture. */
  modelDir?: string;
  /** Extra worker options (e.g. jobTimeoutMs). */
  worker?: Partial<WorkerOptions>;
  /** Extra queue options (e.g. retentionMs). */
  queue?: Partial<JobQueueOptions>;
  /** Settings patched into the test guild before the bot starts. */
  settings?: Parameters<GuildSettingsStore['update']>[1];
}

export class Harness {
  server!: DiscordServer;
  dataDir = mkdtempSync(join(tmpdir(), 'e2e-'));
  store!: Store;
  settings!: GuildSettingsStore;
  queue!: JobQueue;
  worker!: Worker | JobRunner;
  bot!: Bot;
  redis?: RedisServer;
  runs: CommandRunEvent[] = [];
  errors: object[] = [];

  constructor(readonly options: HarnessOptions = {}) {}

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness(options);
    // The bot's preview cadence is 10x faster here than in production (150 ms, not 1.5 s), so the
    // per-token edit budget is scaled the same way (5 per second instead of 5 per 5 s).
    h.server = await startDiscordServer({
      waitTimeoutMs: 15_000,
      editRateLimit: { limit: 5, windowMs: 1000 },
      ...options.server,
    });
    await registerBotCommands({ token: h.server.token, apiUrl: h.server.apiUrl, guildId: h.server.guildId });
    await h.up();
    if (options.settings) await h.settings.update(h.server.guildId, options.settings);
    return h;
  }

  /** Opens store, queue, worker and bot on this.dataDir. */
  async up(): Promise<void> {
    const redisUrl = E2E_BULLMQ ? (this.redis ??= await startRedis()).url : undefined;
    this.store = await openStore({ dataDir: this.dataDir, redisUrl });
    this.settings = new GuildSettingsStore(this.store);
    this.queue = await JobQueue.open({
      store: this.store,
      settings: this.settings,
      pruneIntervalMs: 0,
      sourcesDir: join(this.dataDir, 'sources'),
      ...this.options.queue,
    });
    const base = await engine(this.options.modelDir);
    const wrapped = this.options.wrapEngine ? this.options.wrapEngine(base) : base;
    const resultsDir = join(this.dataDir, 'results');
    this.worker = redisUrl
      ? await openRunner({
          backend: 'bullmq',
          queue: this.queue,
          engine: wrapped,
          resultsDir,
          redisUrl,
          prefetch: 0,
          lockDurationMs: 2000,
          ...this.options.worker,
        })
      : new Worker(this.queue, wrapped, { resultsDir, ...this.options.worker });
    this.worker.start();
    await this.startBot();
  }

  /** Starts the bot alone on the open queue (after bot.stop(), to test what a bot restart picks up). */
  async startBot(): Promise<void> {
    const logger = { ...quietLogger, error: (obj: object) => void this.errors.push(obj) };
    this.bot = await startBot({
      registry: botRegistry(),
      token: this.server.token,
      apiUrl: this.server.apiUrl,
      queue: this.queue,
      settings: this.settings,
      logger,
      defaultSide: 64,
      displaySide: 64,
      defaults: { steps: 4, guidance: 5, sampler: 'euler' },
      previewIntervalMs: 150,
      imageToImage: true,
      cdnOrigins: [new URL(this.server.apiUrl).origin],
      onRun: (e) => this.runs.push(e),
      ...this.options.bot,
    });
  }

  /** Stops the worker (running job back to the queue), then the bot (finals under way land), then queue and store. */
  async down(): Promise<void> {
    await this.worker.stop({ requeue: true });
    if ('close' in this.worker) await this.worker.close();
    await this.bot.stop();
    await this.queue.close();
    await this.store.close();
  }

  async restart(): Promise<void> {
    await this.down();
    await this.up();
  }

  async close(): Promise<void> {
    await this.down().catch(() => undefined);
    await this.server.close();
    await this.redis?.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  get users() {
    return this.server.users;
  }

  /** Another server with the bot in it and our commands registered there; resolves once the bot has cached it. */
  async addGuild(name?: string, settings?: Parameters<GuildSettingsStore['update']>[1]): Promise<FakeGuild> {
    const guild = this.server.addGuild(name);
    await registerBotCommands({ token: this.server.token, apiUrl: this.server.apiUrl, guildId: guild.id });
    if (settings) await this.settings.update(guild.id, settings);
    await until(() => this.bot.client.guilds.cache.has(guild.id), `the bot to cache guild ${guild.name}`);
    return guild;
  }
}

/** Polls `check` (for state the fake server does not see change, such as the bot's own cache). */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** custom_ids of a stored message's buttons, in order. */
export function buttonIds(message: StoredMessage): string[] {
  return message.components.flatMap((row) =>
    ((row as { components?: { custom_id?: string }[] }).components ?? []).map((c) => c.custom_id ?? ''),
  );
}

export function buttonLabels(message: StoredMessage): string[] {
  return message.components.flatMap((row) =>
    ((row as { components?: { label?: string }[] }).components ?? []).map((c) => c.label ?? ''),
  );
}

/** The custom_id of the button labelled `label`; fails the test when there is none. */
export function buttonIdFor(message: StoredMessage, label: string): string {
  const index = buttonLabels(message).indexOf(label);
  assert.ok(index >= 0, `no button ${label} on ${buttonLabels(message).join(', ')}`);
  return buttonIds(message)[index];
}

/** A finished result: has a PNG attached and buttons. */
export function isFinal(message: StoredMessage): boolean {
  return message.attachments.some((a) => a.filename.endsWith('.png')) && message.components.length > 0;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The buttons under a single result (and a U post), in order. */
export const SINGLE_BUTTONS = [
  'Vary (Subtle)',
  'Vary (Strong)',
  '🔄',
  '🎞',
  '🗑',
  '⬆ Upscale (2×)',
  '🎛 Remix',
  'ℹ',
  '➕ Emoji',
];

/** The buttons under a 2x2 grid, in order. */
export const GRID_BUTTONS = ['U1', 'U2', 'U3', 'U4', 'V1', 'V2', 'V3', 'V4', '🔄', '🎞', '🗑', '🎛 Remix', 'ℹ'];

/** Resolves with the ephemeral answer matching `pattern`; fails if the interaction leaves a public message. */
export async function ephemeralAnswer(
  h: Pick<Harness, 'server'>,
  i: InteractionHandle,
  pattern: RegExp,
): Promise<StoredMessage> {
  const answer = await h.server
    .waitFor(() => {
      const candidates = [i.original, ...i.followUps].filter(
        (m): m is StoredMessage => !!m && isEphemeral(m) && !m.deleted,
      );
      return candidates.find((m) => pattern.test(m.content));
    }, `an ephemeral reply to ${i.label} matching ${pattern}`)
    .catch((error: Error) => {
      const seen = [i.original, ...i.followUps]
        .filter((m) => m)
        .map((m) => `${isEphemeral(m!) ? 'ephemeral' : 'public'}${m!.deleted ? ' (deleted)' : ''}: ${m!.content}`);
      throw new Error(`${error.message}\nseen: ${seen.join(' | ') || 'nothing'}`);
    });
  const visible = [i.original, ...i.followUps].filter(
    (m): m is StoredMessage => !!m && !m.deleted && !isEphemeral(m) && !(m.flags & 128),
  );
  if (visible.length > 0)
    throw new Error(`${i.label} left a public message: ${visible.map((m) => m.content).join(' | ')}`);
  return answer;
}
