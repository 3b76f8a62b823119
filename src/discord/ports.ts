// What the Discord front end needs from its surroundings, as small structural interfaces, so the
// front end can be wired to the real queue (src/queue) and tested with it, without knowing more.
import type { JobQueue } from '../queue/index.ts';
import type { GuildSettings, SettingsChange } from '../queue/index.ts';

/** pino-compatible: the bot logs through whatever logger the wiring hands it. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** The part of the queue's producer/observer API the front end uses (src/queue/queue.ts). */
export type QueuePort = Pick<
  JobQueue,
  | 'submit'
  | 'admitPost'
  | 'get'
  | 'cancel'
  | 'deleteResult'
  | 'storeSource'
  | 'saveRecipe'
  | 'recipe'
  | 'position'
  | 'listForUser'
  | 'stats'
  | 'on'
  | 'off'
  | 'setDelivery'
  | 'pendingDeliveries'
>;

export interface SettingsPort {
  get(guildId: string): Promise<GuildSettings>;
  /** A change computed from `current` is applied to the settings as they are when it runs (changes never lost). */
  update(guildId: string, change: SettingsChange): Promise<GuildSettings>;
  reset(guildId: string): Promise<GuildSettings>;
}
