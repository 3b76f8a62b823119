// Waiting on server state from tests: re-check a condition on every change, fail with a message
// that shows what the state was when time ran out.
import type { EventEmitter } from 'node:events';

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

export function waitUntil<T>(
  events: EventEmitter,
  check: () => T | undefined,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  const now = check();
  if (now !== undefined) return Promise.resolve(now);
  return new Promise<T>((resolve, reject) => {
    const onChange = () => {
      let value: T | undefined;
      try {
        value = check();
      } catch (error) {
        finish();
        reject(error);
        return;
      }
      if (value !== undefined) {
        finish();
        resolve(value);
      }
    };
    const onClose = () => {
      finish();
      reject(new WaitTimeoutError(`server closed while waiting: ${describe()}`));
    };
    const timer = setTimeout(() => {
      finish();
      reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting: ${describe()}`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      events.off('change', onChange);
      events.off('close', onClose);
    };
    events.on('change', onChange);
    events.on('close', onClose);
  });
}
