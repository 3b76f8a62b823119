// This process's memory as /proc reports it, for the benches that print peaks against a model's weights.
import { readFileSync } from 'node:fs';

const statusKb = (field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;

/** The process's peak resident memory so far (VmHWM), in bytes. */
export const peakNow = () => statusKb('VmHWM');
/** Its resident memory now (VmRSS), in bytes. */
export const residentNow = () => statusKb('VmRSS');
export const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GB`;
