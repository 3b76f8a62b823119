import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionFlagsBits } from 'discord.js';
import { buildRegistry, RegistryError } from '../../src/discord/registry.ts';
import { botCommandDefinitions, botRegistry } from '../../src/commands/index.ts';
import { presentError } from '../../src/discord/router.ts';
import { InvalidOptionError } from '../../src/discord/errors.ts';
import { LimitError, PermissionError } from '../../src/queue/index.ts';
import { startBot, BotStartError } from '../../src/discord/bot.ts';
import { parseArgs, RegisterError } from '../../src/app/register-commands.ts';

test('the registry holds the six commands and every button action', () => {
  const registry = botRegistry();
  assert.deepEqual([...registry.commands.keys()].sort(), [
    'cancel',
    'diffusion',
    'help',
    'imagine',
    'queue',
    'settings',
  ]);
  assert.deepEqual([...registry.buttons.keys()].sort(), [
    'cancel',
    'delete',
    'emoji',
    'pick',
    'recipe',
    'remix',
    'reroll',
    'timelapse',
    'upscale',
    'variation',
    'varyStrong',
    'varySubtle',
  ]);
});

test('command definitions: fixed names, options and choices', () => {
  const defs = botCommandDefinitions();
  const imagine = defs.find((d) => d.name === 'imagine')!;
  assert.deepEqual(
    imagine.options!.map((o) => o.name),
    [
      'prompt',
      'negative',
      'seed',
      'steps',
      'guidance',
      'count',
      'aspect',
      'sampler',
      'image',
      'strength',
      'model',
      'style',
      'recipe',
    ],
  );
  const byName = Object.fromEntries(imagine.options!.map((o) => [o.name, o as unknown as Record<string, unknown>]));
  // Not required, so `/imagine recipe:<code>` can stand alone; /imagine refuses a call with neither.
  assert.equal(byName.prompt.required, false);
  assert.equal(byName.image.type, 11);
  assert.deepEqual([byName.strength.min_value, byName.strength.max_value], [0.05, 1]);
  assert.equal(byName.count.min_value, 1);
  assert.equal(byName.count.max_value, 4);
  assert.deepEqual(
    (byName.sampler.choices as { value: string }[]).map((c) => c.value),
    ['euler_a', 'euler', 'ddim', 'dpmpp_2m_karras', 'lcm'],
  );
  assert.ok((byName.aspect.choices as { value: string }[]).some((c) => c.value === '16:9'));
  const settings = defs.find((d) => d.name === 'settings')!;
  assert.equal(settings.default_member_permissions, String(PermissionFlagsBits.ManageGuild));
  assert.deepEqual(
    settings.options!.map((o) => o.name),
    ['show', 'limits', 'banned-words', 'channels', 'moderator-role', 'samplers', 'styles', 'safety', 'models', 'reset'],
  );
  const limits = settings.options!.find((o) => o.name === 'limits') as unknown as { options: { name: string }[] };
  assert.deepEqual(
    limits.options.map((o) => o.name),
    ['max_steps', 'max_count', 'max_pending', 'cooldown', 'daily_quota', 'max_side'],
  );
});

test('the shape check refuses broken modules and duplicates', () => {
  assert.throws(
    () => buildRegistry([{ data: { name: 'x' } }], []),
    (e) => e instanceof RegistryError && /got an object with keys data/.test(e.message),
  );
  const cmd = { data: { name: 'x', toJSON: () => ({ name: 'x', description: 'x' }) }, execute: async () => {} };
  assert.throws(() => buildRegistry([cmd, cmd], []), /got \/x twice/);
  const family = { actions: ['reroll'], execute: async () => {} };
  assert.throws(() => buildRegistry([], [family, family]), /got reroll twice/);
});

test('errors are presented with what to do; limits say when they reset', () => {
  const resetsAt = Date.now() + 60_000;
  const limit = presentError(new LimitError('cooldown', 'Please wait 60 more seconds.', resetsAt));
  assert.equal(limit.outcome, 'refused');
  assert.match(limit.message, new RegExp(`try again <t:${Math.ceil(resetsAt / 1000)}:R>`));
  assert.equal(presentError(new InvalidOptionError('seed must be ...')).message, 'seed must be ...');
  assert.match(presentError(new PermissionError('x')).message, /owner|asked/);
  const internal = presentError(new TypeError('boom'));
  assert.equal(internal.outcome, 'error');
  assert.match(internal.message, /Something went wrong on our side \(ref `[0-9a-f]{6}`\)/);
  assert.doesNotMatch(internal.message, /boom/);
});

test('a missing token is a clear start-up error', async () => {
  const fake = {} as never;
  await assert.rejects(
    startBot({ token: '', registry: botRegistry(), queue: fake, settings: fake, logger: fake, defaultSide: 64 }),
    (e) => e instanceof BotStartError && /DISCORD_TOKEN is required/.test(e.message),
  );
});

test('register-commands arguments', () => {
  assert.deepEqual(parseArgs([]), {});
  assert.deepEqual(parseArgs(['--guild', '123']), { guildId: '123' });
  assert.deepEqual(parseArgs(['--guild=456']), { guildId: '456' });
  assert.throws(() => parseArgs(['--global']), RegisterError);
});
