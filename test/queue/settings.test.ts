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
    assert.throws(() => validateSettings({ ...DEFAULT_SETTINGS }, patch as never), (err: unknown) => {
      assert.ok(err instanceof SettingsError, `expected a SettingsError for ${JSON.stringify(patch)}`);
      assert.equal(err.field, field);
      assert.match(err.message, message);
      return true;
    });
  }
});

for (const { name, make, skip } of BACKENDS) {
  describe(`guild settings on ${name}`, { skip }, () => {
    let backend: Backend;
    before(async () => { backend = await make(); });
    after(async () => { await backend?.cleanup(); });

    test('defaults, update, persistence across reopen, reset', async () => {
      let store = await backend.open('settings1');
      let settings = new GuildSettingsStore(store);
      const g = await settings.get('1');
      assert.deepEqual(g, { ...DEFAULT_SETTINGS, allowedSamplers: [...DEFAULT_SETTINGS.allowedSamplers] });
      assert.equal(g.maxSteps, 50);
      const updated = await settings.update('1', { maxSteps: 20, bannedWords: ['gore', 'gore', ' nsfw '], cooldownSeconds: 0 });
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
