// What happens to an image the model's safety checker flags, per server and per channel: `block` (a
// notice instead of the image; the default outside age-restricted channels), `spoiler` (posted behind a
// spoiler with a warning; the default inside them), `off` (posted as is: only where Discord marks the
// channel age-restricted, as its developer policy requires). This file owns the rule.

export const SAFETY_MODES = ['block', 'spoiler', 'off'] as const;
export type SafetyMode = (typeof SAFETY_MODES)[number];
const MAX_CHANNELS = 500;

export interface SafetySettings {
  /** Ordinary channels without a mode of their own. Default block; never off. */
  safetyDefault: 'block' | 'spoiler';
  /** Modes set for single channels (off only for age-restricted ones). */
  safetyChannels: Record<string, SafetyMode>;
}

/** The mode for a job's channel; `off` counts only while the channel is age-restricted. */
export function safetyModeFor(settings: SafetySettings, channelId: string, ageRestricted: boolean): SafetyMode {
  const own = settings.safetyChannels[channelId];
  if (own === 'off') return ageRestricted ? 'off' : 'block';
  if (own) return own;
  return ageRestricted ? 'spoiler' : settings.safetyDefault;
}

/** A problem with the safety settings, for validateSettings. */
export function safetyProblem(patch: Partial<SafetySettings>): { field: string; message: string } | undefined {
  if (patch.safetyDefault !== undefined && patch.safetyDefault !== 'block' && patch.safetyDefault !== 'spoiler')
    return {
      field: 'safetyDefault',
      message: `expected the server's safety mode to be block or spoiler (off is only for age-restricted channels), got ${JSON.stringify(patch.safetyDefault)}`,
    };
  const channels = patch.safetyChannels;
  if (channels === undefined) return undefined;
  const entries = channels && typeof channels === 'object' ? Object.entries(channels) : undefined;
  if (
    !entries ||
    entries.length > MAX_CHANNELS ||
    !entries.every(([id, mode]) => /^\d{1,25}$/.test(id) && (SAFETY_MODES as readonly string[]).includes(mode))
  )
    return {
      field: 'safetyChannels',
      message: `expected at most ${MAX_CHANNELS} channel ids with a mode of ${SAFETY_MODES.join(', ')}`,
    };
  return undefined;
}
