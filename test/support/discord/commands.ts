// Registered application commands (global and per guild), checked the way Discord checks a
// registration, and the typed `data.options` a Discord client would build for a slash command.
import { invalidFormBody, type FieldError } from './errors.ts';
import { snowflake } from './snowflake.ts';

type Json = Record<string, unknown>;

export const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Mentionable: 9,
  Number: 10,
  Attachment: 11,
} as const;

export interface RegisteredCommand extends Json {
  id: string;
  application_id: string;
  name: string;
  description: string;
  type: number;
  options?: Json[];
  guild_id?: string;
  version: string;
  default_member_permissions: string | null;
}

/** A slash() call asked for something a Discord client would never send. */
export class SlashCommandError extends Error {
  override name = 'SlashCommandError';
}

const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

export class CommandRegistry {
  readonly #global = new Map<string, RegisteredCommand>();
  readonly #guild = new Map<string, Map<string, RegisteredCommand>>();

  constructor(readonly applicationId: string) {}

  list(guildId?: string): RegisteredCommand[] {
    return [...this.#scope(guildId).values()];
  }

  /** Replaces the whole list (PUT), keeping the ids of commands whose name stays, like Discord. */
  overwrite(bodies: unknown, guildId?: string): RegisteredCommand[] {
    if (!Array.isArray(bodies))
      throw invalidFormBody([{ path: '_root', code: 'BASE_TYPE_LIST', message: 'Must be an array.' }]);
    const problems = bodies.flatMap((b, i) => checkCommand(b as Json, `${i}`));
    if (problems.length) throw invalidFormBody(problems);
    const scope = this.#scope(guildId);
    const next = bodies.map((b) => this.#make(b as Json, guildId, scope.get((b as Json).name as string)));
    scope.clear();
    for (const command of next) scope.set(command.name, command);
    return next;
  }

  /** Creates or replaces one command by name (POST). */
  upsert(body: unknown, guildId?: string): { command: RegisteredCommand; created: boolean } {
    const problems = checkCommand(body as Json, '');
    if (problems.length) throw invalidFormBody(problems);
    const scope = this.#scope(guildId);
    const existing = scope.get((body as Json).name as string);
    const command = this.#make(body as Json, guildId, existing);
    scope.set(command.name, command);
    return { command, created: !existing };
  }

  get(id: string, guildId?: string): RegisteredCommand | undefined {
    return this.list(guildId).find((c) => c.id === id);
  }

  edit(id: string, body: unknown, guildId?: string): RegisteredCommand | undefined {
    const existing = this.get(id, guildId);
    if (!existing) return undefined;
    const merged = { ...existing, ...(body as Json) };
    const problems = checkCommand(merged, '');
    if (problems.length) throw invalidFormBody(problems);
    const scope = this.#scope(guildId);
    scope.delete(existing.name);
    const command = this.#make(merged, guildId, existing);
    scope.set(command.name, command);
    return command;
  }

  remove(id: string, guildId?: string): boolean {
    const existing = this.get(id, guildId);
    if (existing) this.#scope(guildId).delete(existing.name);
    return existing !== undefined;
  }

  /** The command a guild member sees under this name: the guild's own first, then the global one. */
  resolve(name: string, guildId: string): RegisteredCommand | undefined {
    return this.#guild.get(guildId)?.get(name) ?? this.#global.get(name);
  }

  #scope(guildId?: string): Map<string, RegisteredCommand> {
    if (!guildId) return this.#global;
    let scope = this.#guild.get(guildId);
    if (!scope) this.#guild.set(guildId, (scope = new Map()));
    return scope;
  }

  #make(body: Json, guildId: string | undefined, existing?: RegisteredCommand): RegisteredCommand {
    return {
      ...body,
      id: existing?.id ?? snowflake(),
      application_id: this.applicationId,
      name: body.name as string,
      description: (body.description as string) ?? '',
      type: (body.type as number) ?? 1,
      version: snowflake(),
      default_member_permissions: (body.default_member_permissions as string | null) ?? null,
      ...(guildId ? { guild_id: guildId } : {}),
    };
  }
}

function checkCommand(body: Json, path: string): FieldError[] {
  const at = (field: string) => (path ? `${path}.${field}` : field);
  const problems: FieldError[] = [];
  if (!body || typeof body !== 'object')
    return [
      { path: path || '_root', code: 'DICT_TYPE_CONVERT', message: 'Only dictionaries may be used in a DictType' },
    ];
  const type = (body.type as number) ?? 1;
  if (typeof body.name !== 'string' || !NAME.test(body.name) || (type === 1 && body.name !== body.name.toLowerCase())) {
    problems.push({
      path: at('name'),
      code: 'APPLICATION_COMMAND_INVALID_NAME',
      message: `Command name is invalid: ${String(body.name)}`,
    });
  }
  if (type === 1) {
    const d = body.description;
    if (typeof d !== 'string' || d.length < 1 || d.length > 100) {
      problems.push({
        path: at('description'),
        code: 'BASE_TYPE_BAD_LENGTH',
        message: 'Must be between 1 and 100 in length.',
      });
    }
    problems.push(...checkOptions(body.options, at('options')));
  }
  return problems;
}

function checkOptions(options: unknown, path: string): FieldError[] {
  if (options === undefined || options === null) return [];
  if (!Array.isArray(options)) return [{ path, code: 'BASE_TYPE_LIST', message: 'Must be an array.' }];
  const problems: FieldError[] = [];
  if (options.length > 25)
    problems.push({ path, code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
  let sawOptional = false;
  const names = new Set<string>();
  options.forEach((option: Json, i) => {
    const at = `${path}.${i}`;
    if (typeof option.name !== 'string' || !NAME.test(option.name) || option.name !== option.name.toLowerCase()) {
      problems.push({
        path: `${at}.name`,
        code: 'APPLICATION_COMMAND_INVALID_NAME',
        message: `Command name is invalid: ${String(option.name)}`,
      });
    } else if (names.has(option.name)) {
      problems.push({
        path: `${at}.name`,
        code: 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS',
        message: 'Option names must be unique',
      });
    } else names.add(option.name);
    const d = option.description;
    if (typeof d !== 'string' || d.length < 1 || d.length > 100) {
      problems.push({
        path: `${at}.description`,
        code: 'BASE_TYPE_BAD_LENGTH',
        message: 'Must be between 1 and 100 in length.',
      });
    }
    if (option.required) {
      if (sawOptional)
        problems.push({
          path: `${at}.required`,
          code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
          message: 'Required options must be placed before non-required options',
        });
    } else sawOptional = true;
    if (Array.isArray(option.choices) && option.choices.length > 25) {
      problems.push({ path: `${at}.choices`, code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
    }
    if (option.type === OptionType.Subcommand || option.type === OptionType.SubcommandGroup) {
      problems.push(...checkOptions(option.options, `${at}.options`));
    }
  });
  return problems;
}

export type OptionValue = string | number | boolean | { id: string };

export interface BuiltOptions {
  options: Json[];
  /** Ids of users, channels and roles the options refer to (for `data.resolved`). */
  users: string[];
  channels: string[];
  roles: string[];
  /** Ids of uploads given to attachment options. */
  attachments: string[];
}

/**
 * Builds `data.options` for `/name [group] [subcommand] key:value...` from the registered definition,
 * refusing what a Discord client would refuse (unknown or missing options, wrong types, choices,
 * ranges). With `unchecked`, values pass through with types guessed from the definition only.
 */
export function buildOptions(
  command: RegisteredCommand,
  subcommand: string | undefined,
  values: Record<string, OptionValue>,
  unchecked = false,
): BuiltOptions {
  const built: BuiltOptions = { options: [], users: [], channels: [], roles: [], attachments: [] };
  let definitions = (command.options ?? []) as Json[];
  const wrap: ((inner: Json[]) => Json[])[] = [];
  for (const part of subcommand ? subcommand.trim().split(/\s+/) : []) {
    const sub = definitions.find(
      (o) => o.name === part && (o.type === OptionType.Subcommand || o.type === OptionType.SubcommandGroup),
    );
    if (!sub)
      throw new SlashCommandError(
        `expected a subcommand of /${command.name} named one of [${definitions
          .filter((o) => (o.type as number) <= 2)
          .map((o) => o.name)
          .join(', ')}], got "${part}"`,
      );
    wrap.push((inner) => [{ type: sub.type, name: sub.name, options: inner }]);
    definitions = (sub.options ?? []) as Json[];
  }
  if (definitions.some((o) => o.type === OptionType.Subcommand || o.type === OptionType.SubcommandGroup)) {
    throw new SlashCommandError(
      `/${command.name}${subcommand ? ` ${subcommand}` : ''} needs a subcommand: one of [${definitions.map((o) => o.name).join(', ')}]`,
    );
  }
  const leaf: Json[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const definition = definitions.find((o) => o.name === name);
    if (!definition) {
      throw new SlashCommandError(
        `/${command.name} has no option "${name}"; it has [${definitions.map((o) => o.name).join(', ')}]`,
      );
    }
    const type = definition.type as number;
    const converted = convertOption(command.name, definition, value, unchecked);
    if (type === OptionType.User) built.users.push(String(converted));
    if (type === OptionType.Channel) built.channels.push(String(converted));
    if (type === OptionType.Role) built.roles.push(String(converted));
    if (type === OptionType.Attachment) built.attachments.push(String(converted));
    leaf.push({ name, type, value: converted });
  }
  if (!unchecked) {
    for (const definition of definitions) {
      if (definition.required && !((definition.name as string) in values)) {
        throw new SlashCommandError(`/${command.name} requires option "${definition.name}"`);
      }
    }
  }
  built.options = wrap.reduceRight((inner, w) => w(inner), leaf);
  return built;
}

function convertOption(
  commandName: string,
  definition: Json,
  value: OptionValue,
  unchecked: boolean,
): string | number | boolean {
  const name = `/${commandName} option "${definition.name}"`;
  const type = definition.type as number;
  const raw = typeof value === 'object' ? value.id : value;
  if (unchecked) return raw;
  switch (type) {
    case OptionType.String: {
      if (typeof raw !== 'string') throw new SlashCommandError(`${name} expects a string, got ${typeof raw}`);
      const min = (definition.min_length as number) ?? 0;
      const max = (definition.max_length as number) ?? 6000;
      if (raw.length < min || raw.length > max)
        throw new SlashCommandError(`${name} expects ${min} to ${max} characters, got ${raw.length}`);
      checkChoice(name, definition, raw);
      return raw;
    }
    case OptionType.Integer:
    case OptionType.Number: {
      if (typeof raw !== 'number' || (type === OptionType.Integer && !Number.isInteger(raw))) {
        throw new SlashCommandError(
          `${name} expects ${type === OptionType.Integer ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`,
        );
      }
      const min = definition.min_value as number | undefined;
      const max = definition.max_value as number | undefined;
      if ((min !== undefined && raw < min) || (max !== undefined && raw > max)) {
        throw new SlashCommandError(`${name} expects a value between ${min ?? '-inf'} and ${max ?? 'inf'}, got ${raw}`);
      }
      checkChoice(name, definition, raw);
      return raw;
    }
    case OptionType.Boolean:
      if (typeof raw !== 'boolean')
        throw new SlashCommandError(`${name} expects a boolean, got ${JSON.stringify(raw)}`);
      return raw;
    default:
      if (typeof raw !== 'string')
        throw new SlashCommandError(`${name} expects an id or an object with an id, got ${JSON.stringify(raw)}`);
      return raw;
  }
}

function checkChoice(name: string, definition: Json, value: string | number): void {
  const choices = definition.choices as Json[] | undefined;
  if (choices && choices.length > 0 && !choices.some((c) => c.value === value)) {
    throw new SlashCommandError(
      `${name} expects one of [${choices.map((c) => JSON.stringify(c.value)).join(', ')}], got ${JSON.stringify(value)}`,
    );
  }
}
