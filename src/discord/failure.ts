// What a user reads when their job failed: the reason without the engine's internals (onnxruntime
// prefixes its errors with the node, source file and C++ signature), and where in the run it stopped.
import type { JobRecord } from '../queue/index.ts';

const MAX_REASON = 300;

/** "Non-zero status code returned while running Reshape node. Name:'x' Status Message: /src/a.h:91 f(...) cond was false. The input ..." -> "The input ... (Reshape)" */
export function plainReason(message: string): string {
  let text = message.trim();
  const ort = /Non-zero status code returned while running (\w+) node\.(?: Name:'[^']*')? Status Message: ([\s\S]*)$/.exec(text);
  if (ort) {
    const [, op, rest] = ort;
    // Drop the "file:line function(args) condition was false." part when there is one.
    const detail = rest.replace(/^\S+:\d+ [\s\S]*? was false\.\s*/, '').trim() || rest.trim();
    const before = text.slice(0, ort.index).trim().replace(/:$/, '');
    text = `${before ? `${before}: ` : ''}${detail} (${op})`;
  }
  text = text.replace(/\s+/g, ' ');
  return text.length <= MAX_REASON ? text : `${text.slice(0, MAX_REASON - 1)}…`;
}

/** "the engine failed at step 6 of 10: The input tensor cannot be reshaped ... (Reshape)" */
export function failureReason(job: JobRecord): string {
  const reason = plainReason(job.error ?? 'unknown error');
  const p = job.progress;
  if (!p || p.step <= 0 || p.step >= p.total) return reason;
  return reason.replace(/^the engine failed: /, `the engine failed at step ${p.step + 1} of ${p.total}: `);
}
