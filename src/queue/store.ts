// The store contract: the only way the queue touches persistence. One record = one key holding JSON,
// so a single write is the unit of atomicity and a crash never leaves half a job behind.
// Both adapters (SQLite file, Redis) go through keyv and pass test/queue/store.conformance.test.ts.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Keyv from 'keyv';

export type StoreBackend = 'sqlite' | 'redis';

export interface Store {
  readonly backend: StoreBackend;
  /** Where it lives: the SQLite file path or the Redis URL with any password removed. */
  readonly location: string;
  get<T>(key: string): Promise<T | undefined>;
  /** Replaces the whole value (JSON-serialisable). `ttlMs` makes the entry expire. */
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  /** True when something was deleted. */
  delete(key: string): Promise<boolean>;
  /**
   * Every live entry whose key starts with `prefix` (plain string match, no wildcards), each key at
   * most once, in no particular order. Meant for start-up scans: entries written or deleted while the
   * iteration runs may or may not appear.
   */
  iterate<T>(prefix: string): AsyncGenerator<[key: string, value: T]>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** Folder for the SQLite file `${dataDir}/emojiforge.sqlite` (created when missing). */
  dataDir: string;
  /** When set (redis://[user:pass@]host:port[/db]), Redis is used instead of SQLite. */
  redisUrl?: string;
  /** Key namespace, so several bots (or tests) can share one Redis. Default 'emojiforge'. */
  namespace?: string;
  /** How long to wait for Redis to answer at open before giving up, in ms. Default 5000. */
  connectTimeoutMs?: number;
}

/** A backend could not be opened or refused a command. */
export class StoreError extends Error {
  override name = 'StoreError';
}

export const SQLITE_FILE_NAME = 'emojiforge.sqlite';

/** How long a close waits for pending Redis commands before it drops the connection. */
const CLOSE_GRACE_MS = 2000;

/** Opens SQLite under `dataDir` by default, Redis when `redisUrl` is given. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const namespace = options.namespace ?? 'emojiforge';
  if (!/^[A-Za-z0-9-]+$/.test(namespace))
    throw new StoreError(`expected a namespace of letters, digits and '-', got ${JSON.stringify(namespace)}`);
  if (options.redisUrl) return openRedis(options.redisUrl, namespace, options.connectTimeoutMs ?? 5000);
  return openSqlite(options.dataDir, namespace);
}

async function openSqlite(dataDir: string, namespace: string): Promise<Store> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, SQLITE_FILE_NAME);
  const { KeyvSqlite } = await import('@keyv/sqlite');
  // iterationLimit: the adapter pages with LIMIT/OFFSET; larger pages mean fewer round trips at start-up.
  // busyTimeout: a second process (a CLI, a restarted bot) may hold the write lock for a moment.
  const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, iterationLimit: 500, busyTimeout: 5000 } as never);
  const keyv = new Keyv({ store: adapter, namespace, useKeyPrefix: true });
  await probe(keyv, `SQLite file ${file}`);
  // WAL with synchronous=NORMAL: a commit no longer waits for fsync (submit stays well under 1 ms), and a
  // killed process still loses nothing committed; only a power cut can drop the last few commits, never
  // leaving a half-written record.
  const query = (adapter as unknown as { query(sql: string): Promise<unknown> }).query;
  await query('PRAGMA journal_mode=WAL');
  await query('PRAGMA synchronous=NORMAL');
  return new KeyvStore('sqlite', file, keyv);
}

async function openRedis(url: string, namespace: string, connectTimeoutMs: number): Promise<Store> {
  const { default: KeyvRedis } = await import('@keyv/redis');
  const adapter = new KeyvRedis(url, { throwOnConnectError: true, connectionTimeout: connectTimeoutMs } as never);
  const keyv = new Keyv({ store: adapter, namespace, useKeyPrefix: false });
  const location = url.replace(/\/\/[^@/]*@/, '//');
  await probe(keyv, `Redis at ${location}`);
  // destroy() rejects every pending command; it throws ClientClosedError after a close() began, but
  // only once the pending commands are rejected, which is all that is wanted here.
  const dropConnection = () => {
    try {
      (adapter as unknown as { client: { destroy(): void } }).client.destroy();
    } catch {
      // already closed
    }
  };
  return new KeyvStore('redis', location, keyv, dropConnection);
}

async function probe(keyv: Keyv, what: string): Promise<void> {
  let failure: unknown;
  keyv.on('error', (err: unknown) => {
    failure ??= err;
  });
  try {
    await keyv.get('__probe__');
  } catch (err) {
    failure = err;
  }
  if (failure) {
    await keyv.disconnect().catch(() => {});
    throw new StoreError(`could not open ${what}: ${failure instanceof Error ? failure.message : String(failure)}`, {
      cause: failure,
    });
  }
}

class KeyvStore implements Store {
  private lastError: unknown;

  constructor(
    readonly backend: StoreBackend,
    readonly location: string,
    private readonly keyv: Keyv,
    /** Drops the connection without waiting for pending commands. */
    private readonly forceClose?: () => void,
  ) {
    // keyv reports adapter failures as events; remember them so the awaiting call can throw.
    keyv.on('error', (err: unknown) => {
      this.lastError = err;
    });
  }

  async get<T>(key: string): Promise<T | undefined> {
    const value = await this.keyv.get<T>(key);
    this.rethrow(`get ${key}`);
    return value ?? undefined;
  }

  async set(key: string, value: unknown, ttlMs?: number): Promise<void> {
    const ok = await this.keyv.set(key, value, ttlMs);
    this.rethrow(`set ${key}`);
    if (ok === false) throw new StoreError(`${this.backend} refused to write ${key}`);
  }

  async delete(key: string): Promise<boolean> {
    const deleted = await this.keyv.delete(key);
    this.rethrow(`delete ${key}`);
    return deleted;
  }

  async *iterate<T>(prefix: string): AsyncGenerator<[string, T]> {
    if (!this.keyv.iterator) throw new StoreError(`the ${this.backend} adapter cannot iterate`);
    // Redis SCAN may return a key twice; SQLite paging may too when rows move. Report each key once.
    const seen = new Set<string>();
    for await (const entry of this.keyv.iterator(this.keyv.namespace)) {
      const [key, value] = entry as [string, T | undefined];
      if (typeof key !== 'string' || !key.startsWith(prefix) || value === undefined || seen.has(key)) continue;
      seen.add(key);
      yield [key, value];
    }
    this.rethrow(`iterate ${prefix}`);
  }

  /** A graceful close waits for pending commands, which never end while Redis is unreachable: after CLOSE_GRACE_MS the connection is dropped. */
  async close(): Promise<void> {
    const graceful = this.keyv.disconnect();
    if (!this.forceClose) return graceful;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS);
    });
    try {
      if (
        (await Promise.race([
          graceful.then(
            () => 'closed' as const,
            () => 'failed' as const,
          ),
          late,
        ])) === 'closed'
      )
        return;
    } finally {
      clearTimeout(timer);
    }
    graceful.catch(() => {});
    this.forceClose();
  }

  private rethrow(what: string): void {
    const err = this.lastError;
    if (err === undefined) return;
    this.lastError = undefined;
    throw new StoreError(`${this.backend} ${what} failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}
