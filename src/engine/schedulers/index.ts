// The sampler registry: swapping a sampler is a name in the request, the config comes from the model folder.
import { SAMPLERS, type SamplerName } from './types.ts';
import { DdimScheduler } from './ddim.ts';
import { DpmPp2mKarrasScheduler } from './dpmpp-2m-karras.ts';
import { EulerScheduler } from './euler.ts';
import { EulerAncestralScheduler } from './euler-a.ts';
import { LcmScheduler } from './lcm.ts';
import { SchedulerError } from './common.ts';
import type { Scheduler, SchedulerConfig } from './types.ts';

export class UnknownSamplerError extends SchedulerError {
  constructor(readonly sampler: string) {
    super(`expected a sampler among ${SAMPLERS.join(', ')}, got ${JSON.stringify(sampler)}`);
  }
}

const FACTORIES: Record<SamplerName, (config: SchedulerConfig) => Scheduler> = {
  euler_a: (config) => new EulerAncestralScheduler(config),
  euler: (config) => new EulerScheduler(config),
  ddim: (config) => new DdimScheduler(config),
  dpmpp_2m_karras: (config) => new DpmPp2mKarrasScheduler(config),
  lcm: (config) => new LcmScheduler(config),
};

export function isSamplerName(name: string): name is SamplerName {
  return (SAMPLERS as readonly string[]).includes(name);
}

/** A fresh scheduler (schedulers hold per-run state: make one per generation). */
export function createScheduler(name: string, config: SchedulerConfig): Scheduler {
  if (!isSamplerName(name)) throw new UnknownSamplerError(name);
  return FACTORIES[name](config);
}

export {
  DEFAULT_SCHEDULER_CONFIG,
  parseSchedulerConfig,
  startIndexForStrength,
  SchedulerConfigError,
  SchedulerError,
  SchedulerRangeError,
  SchedulerStateError,
} from './common.ts';
export { DdimScheduler, DpmPp2mKarrasScheduler, EulerAncestralScheduler, EulerScheduler, LcmScheduler };
export type { NoiseSource, Scheduler, SchedulerConfig, StepOutput } from './types.ts';
