import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FairLines } from '../../src/queue/fair-lines.ts';

const job = (id: string, userId: string) => ({ id, owner: { userId } });

function filled(): FairLines<ReturnType<typeof job>> {
  const fair = new FairLines<ReturnType<typeof job>>();
  for (const [id, user] of [
    ['a1', 'A'],
    ['a2', 'A'],
    ['a3', 'A'],
    ['b1', 'B'],
    ['c1', 'C'],
    ['c2', 'C'],
  ])
    fair.add(job(id, user), 'back');
  return fair;
}

test('round-robin between users, first-in-first-out within a user', () => {
  const fair = filled();
  const taken: string[] = [];
  for (let j = fair.takeNext(); j; j = fair.takeNext()) taken.push(j.id);
  assert.deepEqual(taken, ['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
  assert.equal(fair.size, 0);
  assert.equal(fair.waitingUsers, 0);
});

test('inOrder and ahead agree with what takeNext will hand out', () => {
  const fair = filled();
  const order = fair.inOrder().map((j) => j.id);
  assert.deepEqual(order, ['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
  for (const [i, id] of order.entries())
    assert.deepEqual(
      fair
        .ahead(fair.get(id)!)
        .map((j) => j.id)
        .sort(),
      order.slice(0, i).sort(),
      `ahead of ${id}`,
    );
});

test('a job put back at the front runs next and its owner leads the rotation', () => {
  const fair = filled();
  const first = fair.takeNext()!; // a1 was interrupted
  fair.add(first, 'front');
  assert.deepEqual(
    fair.inOrder().map((j) => j.id),
    ['a1', 'b1', 'c1', 'a2', 'c2', 'a3'],
  );
});

test('remove keeps the rest of the order and drops an emptied line', () => {
  const fair = filled();
  fair.remove(fair.get('b1')!);
  assert.equal(fair.waitingUsers, 2);
  assert.deepEqual(fair.lineOf('B'), []);
  assert.deepEqual(
    fair.inOrder().map((j) => j.id),
    ['a1', 'c1', 'a2', 'c2', 'a3'],
  );
});
