// What a user reads when their job failed: a fixed sentence for the kind of failure, and where in the
// run it stopped. Never the engine's own text: it can carry host paths and internals (onnxruntime
// prefixes its errors with node names, source files and C++ signatures). The details are in the job
// record and the log.
import type { FailureCode, JobRecord } from '../queue/index.ts';

const TEXT: Record<FailureCode, string> = {
  timeout: 'it took longer than the time limit for one job',
  engine: 'the image engine could not make it',
  engine_crash: 'the image engine stopped while making it, more than once',
  unavailable: 'this bot cannot make that kind of image right now',
  internal: 'something went wrong on our side while saving it',
  model: "its model could not be loaded (a moderator can check the bot's log); try another model",
};

/** "the image engine could not make it (it stopped at step 6 of 10)" */
export function failureText(job: JobRecord): string {
  const text = TEXT[job.failure ?? 'engine'] ?? TEXT.engine;
  const p = job.progress;
  if (!p || p.step <= 0 || p.step >= p.total) return text;
  return `${text} (it stopped at step ${p.step + 1} of ${p.total})`;
}
