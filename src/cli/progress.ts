// Step progress on stderr: a redrawn bar on a terminal, one plain line a step otherwise (logs, CI).
import type { StepProgress } from '../engine/types.ts';

export interface ProgressReporter {
  onStep(progress: StepProgress): void;
  done(): void;
}

export function progressReporter(stream: NodeJS.WriteStream, width = 30): ProgressReporter {
  const tty = stream.isTTY === true;
  let drawn = false;
  return {
    onStep({ step, total }) {
      if (!tty) {
        stream.write(`step ${step}/${total}\n`);
        return;
      }
      const filled = Math.round((step / total) * width);
      stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${step}/${total}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
