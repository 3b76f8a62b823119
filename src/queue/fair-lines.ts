// The queue's fair order and nothing else: one line per user, first-in-first-out within a line, and a
// rotation that serves the users round-robin, so a user with ten jobs never holds back a user with one.

interface Queued {
  id: string;
  owner: { userId: string };
}

export class FairLines<T extends Queued> {
  private readonly lines = new Map<string, T[]>();
  /** Users with a non-empty line, in the order they will be served. */
  private rotation: string[] = [];
  private readonly byId = new Map<string, T>();

  get size(): number {
    return this.byId.size;
  }

  get waitingUsers(): number {
    return this.rotation.length;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  /** The user's queued jobs in the order they will run. */
  lineOf(userId: string): readonly T[] {
    return this.lines.get(userId) ?? [];
  }

  /** 'front' is for an interrupted job: it already had its turn, so its owner goes first again. */
  add(job: T, where: 'front' | 'back'): void {
    const user = job.owner.userId;
    let line = this.lines.get(user);
    if (!line) this.lines.set(user, (line = []));
    if (where === 'front') {
      const at = this.rotation.indexOf(user);
      if (at >= 0) this.rotation.splice(at, 1);
      this.rotation.unshift(user);
      line.unshift(job);
    } else {
      if (line.length === 0) this.rotation.push(user);
      line.push(job);
    }
    this.byId.set(job.id, job);
  }

  remove(job: T): void {
    const user = job.owner.userId;
    const line = this.lines.get(user)!;
    line.splice(line.indexOf(job), 1);
    this.byId.delete(job.id);
    if (line.length === 0) {
      this.lines.delete(user);
      this.rotation.splice(this.rotation.indexOf(user), 1);
    }
  }

  /**
   * The next job in fair order, removed from its line; its owner moves to the back of the rotation. With
   * `accept` (a worker that serves some models only), the first accepted job of the first user who has one.
   */
  takeNext(accept?: (job: T) => boolean): T | undefined {
    for (let turn = 0; turn < this.rotation.length; turn++) {
      const user = this.rotation[turn];
      const line = this.lines.get(user)!;
      const k = accept ? line.findIndex(accept) : 0;
      if (k < 0) continue;
      const [job] = line.splice(k, 1);
      this.byId.delete(job.id);
      this.rotation.splice(turn, 1);
      if (line.length > 0) this.rotation.push(user);
      else this.lines.delete(user);
      return job;
    }
    return undefined;
  }

  /** The jobs that takeNext() will hand out before `job`. O(queued jobs). */
  ahead(job: T): T[] {
    const user = job.owner.userId;
    const k = this.lines.get(user)!.indexOf(job);
    const turn = this.rotation.indexOf(user);
    // Round r serves each user in rotation order once, so the jobs ahead are the first k of every
    // user's line plus the (k+1)-th of users earlier in the rotation.
    const result: T[] = [];
    for (let i = 0; i < this.rotation.length; i++) {
      const line = this.lines.get(this.rotation[i])!;
      result.push(...line.slice(0, Math.min(line.length, i < turn ? k + 1 : k)));
    }
    return result;
  }

  /** Every queued job in the order takeNext() will hand them out. */
  inOrder(): T[] {
    const lines = this.rotation.map((user) => this.lines.get(user)!);
    const order: T[] = [];
    for (let k = 0; order.length < this.byId.size; k++)
      for (const line of lines) if (k < line.length) order.push(line[k]);
    return order;
  }
}
