// Named house styles a server's moderators define: a prompt template with {prompt}, a negative prompt,
// and optional steps, guidance, sampler and aspect. This file owns their shape and limits; /imagine style:
// applies one, and the queue then checks the result like any request (limits, moderation).
import { SAMPLERS, type SamplerName } from '../engine/types.ts';
import { REQUEST_RANGES } from './request-policy.ts';

/** The settings a style must fit (the server's, as they will be once saved). */
interface StyleLimits {
  maxSteps: number;
  allowedSamplers: readonly string[];
}

export interface Style {
  /** 1-32 of a-z, 0-9, _ and - (what /imagine style: autocompletes). */
  name: string;
  /** The prompt with `{prompt}` where the user's words go, e.g. "{prompt}, watercolour, soft light". */
  template: string;
  negative?: string;
  steps?: number;
  guidance?: number;
  sampler?: SamplerName;
  /** "W:H", e.g. "16:9". */
  aspect?: string;
}

/** Autocomplete shows at most 25 choices, so a server keeps at most 25 styles. */
export const MAX_STYLES = 25;
export const STYLE_NAME = /^[a-z0-9_-]{1,32}$/;
export const MAX_TEMPLATE_CHARS = 500;
const ASPECT = /^(\d{1,3}):(\d{1,3})$/;

/** A problem with a style, in words a moderator can act on; `field` names the style's part. */
export class StyleError extends Error {
  override name = 'StyleError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Checks every style against the (new) settings; returns clean copies. Throws StyleError. */
export function validateStyles(list: unknown, settings: StyleLimits): Style[] {
  if (!Array.isArray(list) || list.length > MAX_STYLES)
    throw new StyleError(
      'styles',
      `expected at most ${MAX_STYLES} styles, got ${Array.isArray(list) ? list.length : 'none'}`,
    );
  const names = new Set<string>();
  return list.map((raw) => {
    const style = validateStyle(raw, settings);
    if (names.has(style.name)) throw new StyleError('name', `there are two styles named ${style.name}`);
    names.add(style.name);
    return style;
  });
}

function validateStyle(raw: unknown, settings: StyleLimits): Style {
  const s = (raw ?? {}) as Partial<Style>;
  if (typeof s.name !== 'string' || !STYLE_NAME.test(s.name))
    throw new StyleError(
      'name',
      `a style name is 1 to 32 lower-case letters, digits, _ or - (no spaces), got ${JSON.stringify(String(s.name).slice(0, 40))}`,
    );
  if (typeof s.template !== 'string' || s.template.length > MAX_TEMPLATE_CHARS || !s.template.includes('{prompt}'))
    throw new StyleError(
      'template',
      `the template must contain {prompt} (where the user's words go) and be at most ${MAX_TEMPLATE_CHARS} characters`,
    );
  if (s.negative !== undefined && (typeof s.negative !== 'string' || s.negative.length > MAX_TEMPLATE_CHARS))
    throw new StyleError('negative', `the negative prompt must be at most ${MAX_TEMPLATE_CHARS} characters`);
  if (s.steps !== undefined && !(Number.isInteger(s.steps) && s.steps >= 1 && s.steps <= settings.maxSteps))
    throw new StyleError(
      'steps',
      `steps must be between 1 and this server's max_steps (${settings.maxSteps}), got ${s.steps}`,
    );
  const [gMin, gMax] = REQUEST_RANGES.guidance;
  if (s.guidance !== undefined && !(typeof s.guidance === 'number' && s.guidance >= gMin && s.guidance <= gMax))
    throw new StyleError('guidance', `guidance must be between ${gMin} and ${gMax}, got ${s.guidance}`);
  if (s.sampler !== undefined && !(SAMPLERS as readonly string[]).includes(s.sampler))
    throw new StyleError('sampler', `unknown sampler ${s.sampler}; expected one of ${SAMPLERS.join(', ')}`);
  if (s.sampler !== undefined && !settings.allowedSamplers.includes(s.sampler))
    throw new StyleError('sampler', `the ${s.sampler} sampler is not allowed in this server`);
  if (s.aspect !== undefined) {
    const m = typeof s.aspect === 'string' ? ASPECT.exec(s.aspect) : null;
    const ratio = m ? Number(m[1]) / Number(m[2]) : Number.NaN;
    if (!(ratio >= 0.25 && ratio <= 4))
      throw new StyleError('aspect', `aspect must look like 16:9 (1:4 to 4:1), got ${s.aspect}`);
  }
  const optional = <K extends keyof Style>(key: K) => (s[key] !== undefined ? { [key]: s[key] } : {});
  return {
    name: s.name,
    template: s.template,
    ...optional('negative'),
    ...optional('steps'),
    ...optional('guidance'),
    ...optional('sampler'),
    ...optional('aspect'),
  };
}
