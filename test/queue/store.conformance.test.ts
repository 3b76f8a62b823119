// One contract, every adapter: the SQLite file and a real redis-server must behave the same.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BACKENDS, HAVE_REDIS, NO_REDIS_REASON, sleep, startRedis, type Backend } from './helpers.ts';
import { openStore, SQLITE_FILE_NAME, StoreError, type Store } from '../../src/queue/store.ts';

for (const { name, make, skip } of BACKENDS) {
  describe(`store conformance: ${name}`, { skip }, () => {
    let backend: Backend;
    let store: Store;
    let n = 0;
    before(async () => {
      backend = await make();
    });
    after(async () => {
      await backend?.cleanup();
    });
    const fresh = async () => {
      await store?.close();
      store = await backend.open(`conf${++n}`);
      return store;
    };
    after(async () => {
      await store?.close();
    });

    test('reports its backend', async () => {
      const s = await fresh();
      assert.equal(s.backend, name);
    });

    test('get of a missing key is undefined; set then get round-trips JSON', async () => {
      const s = await fresh();
      assert.equal(await s.get('job:missing'), undefined);
      const value = { id: 'x', nested: { list: [1, 'two', null, true] }, unicode: 'ｂàd 🐱', n: 1.5 };
      await s.set('job:x', value);
      assert.deepEqual(await s.get('job:x'), value);
      await s.set('count', 7);
      assert.equal(await s.get('count'), 7);
    });

    test('set replaces the whole value', async () => {
      const s = await fresh();
      await s.set('job:a', { a: 1, b: 2 });
      await s.set('job:a', { a: 3 });
      assert.deepEqual(await s.get('job:a'), { a: 3 });
    });

    test('delete removes and says whether something was there', async () => {
      const s = await fresh();
      await s.set('job:a', 1);
      assert.equal(await s.delete('job:a'), true);
      assert.equal(await s.get('job:a'), undefined);
      assert.equal(await s.delete('job:a'), false);
    });

    test('iterate returns exactly the keys with the prefix, each once, many pages', async () => {
      const s = await fresh();
      const want = new Map<string, unknown>();
      for (let i = 0; i < 1200; i++) {
        want.set(`job:${i}`, { i });
      }
      await Promise.all([...want].map(([k, v]) => s.set(k, v)));
      // Look-alike prefixes and LIKE/glob wildcards must not leak in.
      await s.set('jobs:1', 'x');
      await s.set('jo_:1', 'x');
      await s.set('settings:1', { maxSteps: 5 });
      await s.set('usage:2026-11-27:1:2', 3);
      const got = new Map<string, unknown>();
      for await (const [k, v] of s.iterate('job:')) {
        assert.ok(!got.has(k), `key ${k} reported twice`);
        got.set(k, v);
      }
      assert.equal(got.size, want.size);
      assert.deepEqual(got.get('job:1199'), { i: 1199 });
      const usage = [];
      for await (const e of s.iterate('usage:')) usage.push(e);
      assert.deepEqual(usage, [['usage:2026-11-27:1:2', 3]]);
      let all = 0;
      for await (const _ of s.iterate('')) all++;
      assert.equal(all, 1200 + 4);
    });

    test('stores are isolated by namespace', async () => {
      const a = await fresh();
      const b = await backend.open(`conf${n}-other`);
      try {
        await a.set('job:1', 'a');
        assert.equal(await b.get('job:1'), undefined);
        let count = 0;
        for await (const _ of b.iterate('job:')) count++;
        assert.equal(count, 0);
      } finally {
        await b.close();
      }
    });

    test('a ttl expires the entry (get and iterate)', async () => {
      const s = await fresh();
      await s.set('usage:a', 1, 150);
      await s.set('usage:b', 2);
      assert.equal(await s.get('usage:a'), 1);
      await sleep(300);
      assert.equal(await s.get('usage:a'), undefined);
      const keys = [];
      for await (const [k] of s.iterate('usage:')) keys.push(k);
      assert.deepEqual(keys, ['usage:b']);
    });

    test('data survives close and reopen', async () => {
      const s = await fresh();
      await s.set('job:keep', { state: 'queued' });
      await s.close();
      store = await backend.open(`conf${n}`);
      assert.deepEqual(await store.get('job:keep'), { state: 'queued' });
    });

    test('concurrent writes to different keys all land', async () => {
      const s = await fresh();
      await Promise.all(Array.from({ length: 200 }, (_, i) => s.set(`job:c${i}`, { i })));
      const values = await Promise.all(Array.from({ length: 200 }, (_, i) => s.get<{ i: number }>(`job:c${i}`)));
      assert.deepEqual(
        values.map((v) => v?.i),
        Array.from({ length: 200 }, (_, i) => i),
      );
    });
  });
}

describe('openStore', () => {
  test('SQLite lives in ${dataDir}/emojiforge.sqlite', async () => {
    const { tempDir } = await import('./helpers.ts');
    const dir = join(tempDir(), 'nested', 'data');
    const s = await openStore({ dataDir: dir });
    try {
      assert.equal(s.location, join(dir, SQLITE_FILE_NAME));
      assert.ok(existsSync(join(dir, SQLITE_FILE_NAME)));
    } finally {
      await s.close();
    }
  });

  test('an unreachable Redis is a StoreError naming it, without the password', async () => {
    const { freePort } = await import('./helpers.ts');
    const port = await freePort();
    await assert.rejects(
      openStore({ dataDir: '/tmp', redisUrl: `redis://user:secret@127.0.0.1:${port}`, connectTimeoutMs: 300 }),
      (err: unknown) => {
        assert.ok(err instanceof StoreError);
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        assert.doesNotMatch(err.message, /secret/);
        return true;
      },
    );
  });

  test('closing a Redis store whose server has gone returns, and drops what was pending', {
    skip: HAVE_REDIS ? false : NO_REDIS_REASON,
  }, async () => {
    const redis = await startRedis();
    const s = await openStore({ dataDir: '/tmp', redisUrl: redis.url });
    await s.set('k', 1);
    await redis.stop();
    const pending = s.get('k').then(
      () => 'answered',
      () => 'failed',
    );
    await sleep(100);
    const started = Date.now();
    await s.close();
    assert.ok(Date.now() - started < 5000, `close took ${Date.now() - started} ms`);
    assert.equal(await pending, 'failed');
  });

  test('a bad namespace is refused', async () => {
    await assert.rejects(openStore({ dataDir: '/tmp', namespace: 'a:b' }), StoreError);
  });
});
