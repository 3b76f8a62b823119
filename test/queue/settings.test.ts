import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, type Backend } from './helpers.ts';
import { DEFAULT_SETTINGS, GuildSettingsStore, SettingsError, validateSettings } from '../../src/queue/settings.ts';

test('validateSettings names the field and the expected range', () => {
  const bad: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ maxSteps: 500 }, 'maxSteps', /between 1 and 150, got 500/],
    [{ maxSteps: 0 }, 'maxSteps', /between 1 and 150, got 0/],
    [{ maxCount: 5 }, 'maxCount', /between 1 and 4, got 5/],
    [{ cooldownSeconds: 1.5 }, 'cooldownSeconds', /whole number between 0 and 3600, got 1.5/],
    [{ maxSide: 100 }, 'maxSide', /multiple of 8, got 100/],
    [{ dailyQuota: '10' }, 'dailyQuota', /got "10"/],
    [{ allowedSamplers: [] }, 'allowedSamplers', /non-empty list/],
    [{ allowedSamplers: ['plms'] }, 'allowedSamplers', /got "plms"/],
    [{ bannedWords: [''] }, 'bannedWords', /1 to 64 characters/],
    [{ allowedChannels: ['general'] }, 'allowedChannels', /Discord ids/],
    [{ maxStep: 5 }, 'maxStep', /unknown setting maxStep/],
  ];
  for (const [patch, field, message] of bad) {
    assert.throws(
      () => validateSettings({ ...DEFAULT_SETTINGS }, patch as never),
      (err: unknown) => {
        assert.ok(err instanceof SettingsError, `expected a SettingsError for ${JSON.stringify(patch)}`);
        assert.equal(err.field, field);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

for (const { name, make, skip } of BACKENDS) {
  describe(`guild settings on ${name}`, { skip }, () => {
    let backend: Backend;
    before(async () => {
      backend = await make();
    });
    after(async () => {
      await backend?.cleanup();
    });

    test('changes sent at once to one server are all kept, also across a reopen', async () => {
      const store = await backend.open('settings-race');
      const settings = new GuildSettingsStore(store);
      // A cold cache: both read the store first (today's read-modify-write race).
      await Promise.all([
        settings.update('7', { cooldownSeconds: 42 }),
        settings.update('7', { maxSteps: 9 }),
        settings.update('7', (now) => ({ bannedWords: [...now.bannedWords, 'one'] })),
        settings.update('7', (now) => ({ bannedWords: [...now.bannedWords, 'two'] })),
        settings.update('8', { maxSteps: 3 }),
      ]);
      const check = (s: Awaited<ReturnType<GuildSettingsStore['get']>>) => {
        assert.equal(s.cooldownSeconds, 42);
        assert.equal(s.maxSteps, 9);
        assert.deepEqual([...s.bannedWords].sort(), ['one', 'two']);
      };
      check(await settings.get('7'));
      assert.equal((await settings.get('8')).maxSteps, 3);
      // A refused change in the middle changes nothing and does not block the ones after it.
      const results = await Promise.allSettled([
        settings.update('7', { maxSteps: 500 }),
        settings.update('7', { dailyQuota: 5 }),
      ]);
      assert.equal(results[0].status, 'rejected');
      assert.equal((await settings.get('7')).dailyQuota, 5);
      check(await new GuildSettingsStore(store).get('7'));
      await store.close();
    });

    test("the store's own defaults (the app's max_side for SDXL) for servers that never set them; reset returns to them", async () => {
      const store = await backend.open('settings-defaults');
      const settings = new GuildSettingsStore(store, undefined, { maxSide: 1024 });
      assert.equal((await settings.get('1')).maxSide, 1024);
      assert.equal((await settings.update('1', { maxSide: 768 })).maxSide, 768);
      assert.equal((await settings.reset('1')).maxSide, 1024);
      assert.equal((await settings.get('2')).maxSteps, DEFAULT_SETTINGS.maxSteps, 'the rest as before');
      assert.throws(() => new GuildSettingsStore(store, undefined, { maxSide: 100 }), SettingsError);
      await store.close();
    });

    test('the cache holds at most maxCached servers; the others are read again from the store', async () => {
      const store = await backend.open('settings-lru');
      const settings = new GuildSettingsStore(store, 3);
      for (let g = 1; g <= 10; g++) await settings.update(String(g), { maxSteps: g });
      assert.equal(settings.cachedGuilds, 3);
      for (let g = 1; g <= 10; g++) assert.equal((await settings.get(String(g))).maxSteps, g);
      assert.equal(settings.cachedGuilds, 3);
      await store.close();
    });

    test('defaults, update, persistence across reopen, reset', async () => {
      let store = await backend.open('settings1');
      let settings = new GuildSettingsStore(store);
      const g = await settings.get('1');
      assert.deepEqual(g, { ...DEFAULT_SETTINGS, allowedSamplers: [...DEFAULT_SETTINGS.allowedSamplers] });
      assert.equal(g.maxSteps, 50);
      const updated = await settings.update('1', {
        maxSteps: 20,
        bannedWords: ['gore', 'gore', ' nsfw '],
        cooldownSeconds: 0,
      });
      assert.equal(updated.maxSteps, 20);
      assert.deepEqual(updated.bannedWords, ['gore', 'nsfw']);
      await assert.rejects(settings.update('1', { maxSteps: 151 }), SettingsError);
      assert.equal((await settings.get('1')).maxSteps, 20, 'a refused update changes nothing');
      assert.equal((await settings.get('2')).maxSteps, 50, 'other guilds keep defaults');
      await store.close();

      store = await backend.open('settings1');
      settings = new GuildSettingsStore(store);
      assert.equal((await settings.get('1')).maxSteps, 20);
      assert.equal((await settings.get('1')).cooldownSeconds, 0);
      assert.equal((await settings.reset('1')).maxSteps, 50);
      await store.close();
    });
  });
}
