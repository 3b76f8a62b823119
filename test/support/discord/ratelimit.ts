// Rate-limit buckets (fixed windows, reported through X-RateLimit-* headers like Discord) and the
// failure injection tests use to make the bot meet 429s and 5xx answers.
import { createHash } from 'node:crypto';

export interface RateLimitPolicy {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
}

export interface BucketState {
  limit: number;
  remaining: number;
  /** Epoch ms at which the window resets. */
  resetAt: number;
  bucketHash: string;
  /** True when this request went over the limit and must be answered with 429. */
  exceeded: boolean;
}

export class RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  /** Counts one request against `key` (route template plus major parameter). */
  take(routeTemplate: string, key: string, policy: RateLimitPolicy, now = Date.now()): BucketState {
    let window = this.#windows.get(key);
    if (!window || now >= window.start + policy.windowMs) {
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    const exceeded = window.count >= policy.limit;
    if (!exceeded) window.count++;
    return {
      limit: policy.limit,
      remaining: Math.max(0, policy.limit - window.count),
      resetAt: window.start + policy.windowMs,
      bucketHash: bucketHash(routeTemplate),
      exceeded,
    };
  }
}

/** Discord's bucket hashes are opaque strings shared by every major parameter of a route. */
export function bucketHash(routeTemplate: string): string {
  return createHash('sha1').update(routeTemplate).digest('hex').slice(0, 16);
}

export function rateLimitHeaders(state: BucketState, now = Date.now()): Record<string, string> {
  const resetAfter = Math.max(0, state.resetAt - now) / 1000;
  return {
    'X-RateLimit-Limit': String(state.limit),
    'X-RateLimit-Remaining': String(state.remaining),
    'X-RateLimit-Reset': (state.resetAt / 1000).toFixed(3),
    'X-RateLimit-Reset-After': resetAfter.toFixed(3),
    'X-RateLimit-Bucket': state.bucketHash,
  };
}

export interface InjectOptions {
  /** Only requests with this method (any when absent). */
  method?: string;
  /** Matched against the path below /api/v10, e.g. /webhooks/1/abc/messages/@original. */
  path: RegExp;
  /** Answer with this status instead of handling the request; absent: only delay it. */
  status?: 429 | 500 | 502 | 503 | 504;
  /** How many matching requests to affect (default 1; Infinity for all). */
  times?: number;
  /** For 429: Retry-After in ms (default 100). */
  retryAfterMs?: number;
  /** For 429: a global rate limit (X-RateLimit-Global, scope "global"). */
  global?: boolean;
  /** Wait this long before answering (or before handling, when there is no status). */
  delayMs?: number;
}

export interface Injection {
  readonly options: Readonly<InjectOptions>;
  /** Requests affected so far. */
  readonly hits: number;
  /** Requests still to affect. */
  readonly remaining: number;
  /** Stops affecting requests. */
  cancel(): void;
}

class InjectionRule implements Injection {
  hits = 0;
  remaining: number;
  constructor(readonly options: InjectOptions) {
    this.remaining = options.times ?? 1;
  }
  cancel(): void {
    this.remaining = 0;
  }
  matches(method: string, path: string): boolean {
    if (this.remaining <= 0) return false;
    if (this.options.method && this.options.method.toUpperCase() !== method) return false;
    this.options.path.lastIndex = 0;
    return this.options.path.test(path);
  }
}

export class Injector {
  readonly #rules: InjectionRule[] = [];

  add(options: InjectOptions): Injection {
    const rule = new InjectionRule(options);
    this.#rules.push(rule);
    return rule;
  }

  /** The first live rule for this request, counted as used; undefined when none applies. */
  take(method: string, path: string): InjectOptions | undefined {
    const rule = this.#rules.find((r) => r.matches(method, path));
    if (!rule) return undefined;
    rule.hits++;
    rule.remaining--;
    return rule.options;
  }
}
