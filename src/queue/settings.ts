// Per-server settings that moderators change. This file owns every per-server limit: its default,
// its allowed range and its validation. Stored as one JSON record per guild under `settings:<guildId>`.
import { SAMPLERS, type SamplerName } from '../engine/types.ts';
import { MODEL_NAME } from '../engine/model-library.ts';
import { REQUEST_RANGES } from './request-policy.ts';
import type { Store } from './store.ts';
import { StyleError, validateStyles, type Style } from './styles.ts';
import { safetyProblem, type SafetySettings } from './safety-modes.ts';

export interface GuildSettings extends SafetySettings {
  /** Most sampling steps a job may ask for. Default 50, 1..150. */
  maxSteps: number;
  /** Most images per job. Default 4, 1..4. */
  maxCount: number;
  /** Most queued + running jobs one user may have (in any server). Default 3, 1..20. */
  maxPending: number;
  /** Seconds a user waits between submits in this server. Default 10, 0..3600. */
  cooldownSeconds: number;
  /** Jobs a user may submit in this server per UTC day. Default 100, 1..10000. */
  dailyQuota: number;
  /** Largest width or height in pixels. Default 512, 64..2048 (a multiple of 8). */
  maxSide: number;
  /** Samplers members may use. Default: all of SAMPLERS. Never empty. */
  allowedSamplers: SamplerName[];
  /** Words refused in prompts (matched by moderation.ts, evasion-resistant). Default none, up to 500. */
  bannedWords: string[];
  /** Slurs refused in prompts besides the banned words (slur-filter.ts). Default true. */
  slurFilter: boolean;
  /** When non-empty, only these channel ids accept jobs. Default empty (all channels). */
  allowedChannels: string[];
  /** Channel ids that never accept jobs (wins over allowedChannels). Default empty. */
  deniedChannels: string[];
  /** Role ids whose members count as moderators (besides Discord's Manage Server permission). */
  moderatorRoleIds: string[];
  /** House styles for /imagine style: (styles.ts). Default none, up to 25. */
  styles: Style[];
  /** The model /imagine uses here when none is named ('' = the bot's default). */
  defaultModel: string;
  /** When non-empty, only these models may be used here. Default empty (every model of the bot). */
  allowedModels: string[];
}

// A server may lower the engine's own limits, never raise them.
export const HARD_MAX_STEPS = REQUEST_RANGES.steps[1];
export const HARD_MAX_COUNT = REQUEST_RANGES.count[1];

export const DEFAULT_SETTINGS: Readonly<GuildSettings> = Object.freeze({
  maxSteps: 50,
  maxCount: 4,
  maxPending: 3,
  cooldownSeconds: 0,
  dailyQuota: 100,
  maxSide: 512,
  allowedSamplers: [...SAMPLERS],
  bannedWords: [],
  slurFilter: true,
  allowedChannels: [],
  deniedChannels: [],
  moderatorRoleIds: [],
  styles: [],
  defaultModel: '',
  allowedModels: [],
  safetyDefault: 'block',
  safetyChannels: {},
});

/** A settings value out of range or of the wrong type; `field` names it. */
export class SettingsError extends Error {
  override name = 'SettingsError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

type IntField = 'maxSteps' | 'maxCount' | 'maxPending' | 'cooldownSeconds' | 'dailyQuota' | 'maxSide';
/** The allowed range of each numeric setting; the /settings command builds its options from it. */
export const INT_RANGES: Readonly<Record<IntField, readonly [min: number, max: number]>> = {
  maxSteps: [1, HARD_MAX_STEPS],
  maxCount: [1, HARD_MAX_COUNT],
  maxPending: [1, 20],
  cooldownSeconds: [0, 3600],
  dailyQuota: [1, 10_000],
  maxSide: [64, 2048],
};
const ID_LIST_FIELDS = ['allowedChannels', 'deniedChannels', 'moderatorRoleIds'] as const;
const MAX_LIST = 500;

/** Checks a patch and returns the merged settings; throws SettingsError naming the first bad field. */
export function validateSettings(base: GuildSettings, patch: Partial<GuildSettings>): GuildSettings {
  if (patch === null || typeof patch !== 'object')
    throw new SettingsError('(patch)', `expected an object of settings, got ${String(patch)}`);
  const known = new Set(Object.keys(DEFAULT_SETTINGS));
  for (const key of Object.keys(patch)) {
    if (!known.has(key))
      throw new SettingsError(key, `unknown setting ${key}; expected one of ${[...known].join(', ')}`);
  }
  const next: GuildSettings = { ...base };
  for (const [field, [min, max]] of Object.entries(INT_RANGES) as [IntField, [number, number]][]) {
    const value = patch[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new SettingsError(
        field,
        `expected ${field} to be a whole number between ${min} and ${max}, got ${JSON.stringify(value)}`,
      );
    }
    if (field === 'maxSide' && value % 8 !== 0)
      throw new SettingsError(field, `expected maxSide to be a multiple of 8, got ${value}`);
    next[field] = value;
  }
  if (patch.allowedSamplers !== undefined) {
    const list = patch.allowedSamplers;
    if (!Array.isArray(list) || list.length === 0) {
      throw new SettingsError(
        'allowedSamplers',
        `expected a non-empty list of samplers from ${SAMPLERS.join(', ')}, got ${JSON.stringify(list)}`,
      );
    }
    for (const s of list) {
      if (!(SAMPLERS as readonly string[]).includes(s)) {
        throw new SettingsError(
          'allowedSamplers',
          `expected samplers from ${SAMPLERS.join(', ')}, got ${JSON.stringify(s)}`,
        );
      }
    }
    next.allowedSamplers = [...new Set(list)];
  }
  if (patch.bannedWords !== undefined) {
    const list = patch.bannedWords;
    if (!Array.isArray(list) || list.length > MAX_LIST) {
      throw new SettingsError(
        'bannedWords',
        `expected a list of at most ${MAX_LIST} words, got ${Array.isArray(list) ? `${list.length} words` : JSON.stringify(list)}`,
      );
    }
    const words = list.map((w) => (typeof w === 'string' ? w.trim() : w));
    for (const w of words) {
      if (typeof w !== 'string' || w.length === 0 || w.length > 64) {
        throw new SettingsError(
          'bannedWords',
          `expected each banned word to be 1 to 64 characters, got ${JSON.stringify(w)}`,
        );
      }
    }
    next.bannedWords = [...new Set(words as string[])];
  }
  if (patch.slurFilter !== undefined) {
    if (typeof patch.slurFilter !== 'boolean')
      throw new SettingsError(
        'slurFilter',
        `expected slurFilter to be true or false, got ${JSON.stringify(patch.slurFilter)}`,
      );
    next.slurFilter = patch.slurFilter;
  }
  for (const field of ID_LIST_FIELDS) {
    const list = patch[field];
    if (list === undefined) continue;
    if (
      !Array.isArray(list) ||
      list.length > MAX_LIST ||
      !list.every((id) => typeof id === 'string' && /^\d{1,25}$/.test(id))
    ) {
      throw new SettingsError(
        field,
        `expected ${field} to be a list of at most ${MAX_LIST} Discord ids (digits), got ${JSON.stringify(list)}`,
      );
    }
    next[field] = [...new Set(list)];
  }
  const models = [...(patch.allowedModels ?? []), ...(patch.defaultModel ? [patch.defaultModel] : [])];
  if (
    (patch.allowedModels !== undefined && (!Array.isArray(patch.allowedModels) || patch.allowedModels.length > 50)) ||
    (patch.defaultModel !== undefined && typeof patch.defaultModel !== 'string') ||
    !models.every((m) => typeof m === 'string' && MODEL_NAME.test(m))
  )
    throw new SettingsError('models', 'expected model folder names (at most 50 allowed), letters, digits, . _ or -');
  if (patch.defaultModel !== undefined) next.defaultModel = patch.defaultModel;
  if (patch.allowedModels !== undefined) next.allowedModels = [...new Set(patch.allowedModels)];
  const safety = safetyProblem(patch);
  if (safety) throw new SettingsError(safety.field, safety.message);
  if (patch.safetyDefault !== undefined) next.safetyDefault = patch.safetyDefault;
  if (patch.safetyChannels !== undefined) next.safetyChannels = { ...patch.safetyChannels };
  if (patch.styles !== undefined) {
    try {
      next.styles = validateStyles(patch.styles, next);
    } catch (error) {
      if (error instanceof StyleError) throw new SettingsError(`styles.${error.field}`, error.message);
      throw error;
    }
  }
  if (next.maxCount > HARD_MAX_COUNT) next.maxCount = HARD_MAX_COUNT;
  return next;
}

/** A change: the fields to set, or a function of the settings as they are when the change is applied. */
export type SettingsChange = Partial<GuildSettings> | ((current: GuildSettings) => Partial<GuildSettings>);

/**
 * Settings per guild, read through an in-memory cache (the queue reads them on every submit), holding at
 * most `maxCached` guilds (the least recently used are read again from the store when needed). Only this
 * process writes them, so the cache stays true. Changes to one guild are applied one after another, so
 * two at once never lose one (each reads what the one before it wrote).
 */
export class GuildSettingsStore {
  private readonly cache = new Map<string, GuildSettings>();
  private readonly changing = new Map<string, Promise<unknown>>();
  private readonly defaults: GuildSettings;

  /** `defaults` (checked as a change is) replace DEFAULT_SETTINGS' for servers that never set them: an SDXL max_side. */
  constructor(
    private readonly store: Store,
    private readonly maxCached = 10_000,
    defaults: Partial<GuildSettings> = {},
  ) {
    this.defaults = validateSettings(structuredClone(DEFAULT_SETTINGS) as GuildSettings, defaults);
  }

  /** The guild's settings, defaults filled in for anything never set. */
  async get(guildId: string): Promise<GuildSettings> {
    const cached = this.cache.get(guildId);
    if (cached) {
      // Map order is insertion order: move it to the back (most recently used).
      this.cache.delete(guildId);
      this.cache.set(guildId, cached);
      return cached;
    }
    const saved = await this.store.get<Partial<GuildSettings>>(key(guildId));
    let settings: GuildSettings;
    try {
      settings = validateSettings(structuredClone(this.defaults), stripUnknown(saved ?? {}));
    } catch {
      // A record written by an older version with a now-invalid value: fall back to defaults, never block submits.
      settings = structuredClone(this.defaults);
    }
    // A change that finished while this read was under way wins: it is what the store now holds.
    const raced = this.cache.get(guildId);
    if (raced) return raced;
    this.remember(guildId, settings);
    return settings;
  }

  /** Validates and saves a change; returns the new settings. Throws SettingsError (and then changes nothing). */
  update(guildId: string, change: SettingsChange): Promise<GuildSettings> {
    return this.serial(guildId, async () => {
      const current = await this.get(guildId);
      const next = validateSettings(current, typeof change === 'function' ? change(current) : change);
      await this.store.set(key(guildId), next);
      this.remember(guildId, next);
      return next;
    });
  }

  /** Back to defaults. */
  reset(guildId: string): Promise<GuildSettings> {
    return this.serial(guildId, async () => {
      await this.store.delete(key(guildId));
      this.cache.delete(guildId);
      return this.get(guildId);
    });
  }

  /** Guilds whose settings are in memory now. */
  get cachedGuilds(): number {
    return this.cache.size;
  }

  private remember(guildId: string, settings: GuildSettings): void {
    this.cache.delete(guildId);
    this.cache.set(guildId, settings);
    while (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value!);
  }

  private serial<T>(guildId: string, run: () => Promise<T>): Promise<T> {
    const before = this.changing.get(guildId) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(run);
    const tail = mine.catch(() => {});
    this.changing.set(guildId, tail);
    void tail.then(() => {
      if (this.changing.get(guildId) === tail) this.changing.delete(guildId);
    });
    return mine;
  }
}

function key(guildId: string): string {
  return `settings:${guildId}`;
}

function stripUnknown(saved: Partial<GuildSettings>): Partial<GuildSettings> {
  const known = new Set(Object.keys(DEFAULT_SETTINGS));
  return Object.fromEntries(Object.entries(saved).filter(([k]) => known.has(k))) as Partial<GuildSettings>;
}
