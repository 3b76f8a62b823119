// The typed command registry: slash commands keyed by name, button actions keyed by action. Filled
// once at start (src/app wires the modules of src/commands in) with a shape check, so a broken module
// fails the start, not a user's click. The Discord layer knows commands only through it.
import type { ButtonAction } from './custom-id.ts';
import type { ButtonFamily, SlashCommand } from './command-types.ts';

export class RegistryError extends Error {
  override name = 'RegistryError';
}

export interface Registry {
  commands: ReadonlyMap<string, SlashCommand>;
  buttons: ReadonlyMap<ButtonAction, ButtonFamily>;
}

export function buildRegistry(commandModules: readonly unknown[], buttonModules: readonly unknown[]): Registry {
  const commands = new Map<string, SlashCommand>();
  for (const mod of commandModules) {
    const m = mod as Partial<SlashCommand>;
    if (
      !m ||
      typeof m.execute !== 'function' ||
      !m.data ||
      typeof m.data.name !== 'string' ||
      typeof m.data.toJSON !== 'function'
    ) {
      throw new RegistryError(`expected a command module with data (name, toJSON) and execute, got ${describe(mod)}`);
    }
    if (commands.has(m.data.name)) throw new RegistryError(`expected unique command names, got /${m.data.name} twice`);
    commands.set(m.data.name, m as SlashCommand);
  }
  const buttons = new Map<ButtonAction, ButtonFamily>();
  for (const mod of buttonModules) {
    const m = mod as Partial<ButtonFamily>;
    if (!m || typeof m.execute !== 'function' || !Array.isArray(m.actions) || m.actions.length === 0) {
      throw new RegistryError(`expected a button module with actions and execute, got ${describe(mod)}`);
    }
    for (const action of m.actions) {
      if (buttons.has(action)) throw new RegistryError(`expected each button action handled once, got ${action} twice`);
      buttons.set(action, m as ButtonFamily);
    }
  }
  return { commands, buttons };
}

/** The JSON Discord gets from register-commands (a bulk overwrite). */
export function commandDefinitions(registry: Registry) {
  return [...registry.commands.values()].map((c) => c.data.toJSON());
}

function describe(mod: unknown): string {
  if (mod === null || typeof mod !== 'object') return String(mod);
  return `an object with keys ${Object.keys(mod).join(', ') || '(none)'}`;
}
