// What our messages look like: plain payloads (content, components, files) for the webhook edit
// route, the channel-message fallback and the updater alike. Pure functions, no Discord I/O.
import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponent } from 'discord.js';
import type { JobRecord } from '../queue/index.ts';
import { encodeCustomId } from './custom-id.ts';

export interface MessageFile {
  name: string;
  data: Buffer;
}

export interface MessagePayload {
  content: string;
  components: APIActionRowComponent<APIButtonComponent>[];
  /** Replaces every attachment on the message; an empty list removes them. */
  files: MessageFile[];
}

const CONTENT_LIMIT = 2000;

type Row = APIActionRowComponent<APIButtonComponent>;

type ActionStyle = ButtonStyle.Primary | ButtonStyle.Secondary | ButtonStyle.Success | ButtonStyle.Danger;

function button(label: string, customId: string, style: ActionStyle = ButtonStyle.Secondary): APIButtonComponent {
  return { type: ComponentType.Button, style, label, custom_id: customId };
}

function row(...buttons: APIButtonComponent[]): Row {
  return { type: ComponentType.ActionRow, components: buttons };
}

/** The first line of every message about a job: the prompt and who asked. */
export function headline(job: JobRecord): string {
  const prompt = job.request.prompt.length > 300 ? `${job.request.prompt.slice(0, 297)}…` : job.request.prompt;
  const tag = job.kind === 'new' ? '' : ` (${kindLabel(job)})`;
  return `**${escapeMarkdown(prompt)}** — <@${job.owner.userId}>${tag}`;
}

function kindLabel(job: JobRecord): string {
  if (job.kind === 'reroll') return 'reroll';
  if (job.kind === 'pick') return 'picked image';
  if (job.kind === 'timelapse' || job.kind === 'diffusion' || job.kind === 'remix') return job.kind;
  if (job.kind === 'upscale') return 'upscaled 2×';
  if (job.kind === 'recipe') return 'from a recipe';
  const strength = job.request.variation?.strength ?? 0;
  return strength >= 0.4 ? 'strong variation' : 'subtle variation';
}

export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_~`|>#[\]()-])/g, '\\$1').replace(/@/g, '@\u200b');
}

export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export function queuedPayload(job: JobRecord, position: number, etaMs: number | undefined): MessagePayload {
  const where = position <= 1 ? 'next in line' : `position ${position} in the queue`;
  const eta = etaMs === undefined ? '' : `, starts in about ${formatEta(etaMs)}`;
  return {
    content: clamp(`${headline(job)}\nQueued: ${where}${eta}.`),
    components: [row(button('Cancel', encodeCustomId({ action: 'cancel', jobId: job.id }), ButtonStyle.Danger))],
    files: [],
  };
}

export function progressPayload(
  job: JobRecord,
  step: number,
  total: number,
  etaMs: number | undefined,
  preview?: Buffer,
): MessagePayload {
  const eta = etaMs === undefined ? '' : ` · ETA ${formatEta(etaMs)}`;
  return {
    content: clamp(`${headline(job)}\nStep ${step}/${total}${eta}`),
    components: [row(button('Cancel', encodeCustomId({ action: 'cancel', jobId: job.id }), ButtonStyle.Danger))],
    files: preview ? [{ name: 'preview.webp', data: preview }] : [],
  };
}

/** A one-line summary of the parameters, e.g. "seed 42 · 20 steps · guidance 7.5 · euler_a · 64×64". */
export function parameterLine(job: JobRecord): string {
  const r = job.request;
  const seeds = job.result?.seeds ?? [r.seed];
  const seedText = seeds.length > 1 ? `seeds ${seeds.join(', ')}` : `seed ${seeds[0]}`;
  const parts = [seedText, `${r.steps} steps`, `guidance ${r.guidance}`, r.sampler, `${r.width}×${r.height}`];
  if (r.variation) parts.push(`variation seed ${r.variation.seed} @ ${r.variation.strength}`);
  if (job.extras?.style) parts.push(`style ${escapeMarkdown(job.extras.style)}`);
  if (r.init) parts.push(`from ${escapeMarkdown(job.extras?.source?.name ?? 'an image')} @ ${r.init.strength}`);
  if (r.negativePrompt) parts.push(`no: ${escapeMarkdown(r.negativePrompt.slice(0, 200))}`);
  return parts.join(' · ');
}

/** Buttons under a finished result. `pickIndex` marks image n of a grid shown alone (U button): its buttons carry n. */
export function resultComponents(job: JobRecord, imageCount: number, pickIndex?: number): Row[] {
  const id = job.id;
  const index = pickIndex;
  const reroll = button('🔄', encodeCustomId({ action: 'reroll', jobId: id, index }));
  const film = button('🎞', encodeCustomId({ action: 'timelapse', jobId: id, index }));
  const remove = button('🗑', encodeCustomId({ action: 'delete', jobId: id, index }));
  const remix = button('🎛 Remix', encodeCustomId({ action: 'remix', jobId: id, index }));
  const recipe = button('ℹ', encodeCustomId({ action: 'recipe', jobId: id, index }));
  if (imageCount > 1 && pickIndex === undefined) {
    const indexes = Array.from({ length: imageCount }, (_, i) => i + 1);
    return [
      row(...indexes.map((index) => button(`U${index}`, encodeCustomId({ action: 'pick', jobId: id, index })))),
      row(...indexes.map((index) => button(`V${index}`, encodeCustomId({ action: 'variation', jobId: id, index })))),
      row(reroll, film, remove, remix, recipe),
    ];
  }
  return [
    row(
      button('Vary (Subtle)', encodeCustomId({ action: 'varySubtle', jobId: id, index })),
      button('Vary (Strong)', encodeCustomId({ action: 'varyStrong', jobId: id, index })),
      reroll,
      film,
      remove,
    ),
    row(
      button('⬆ Upscale (2×)', encodeCustomId({ action: 'upscale', jobId: id, index })),
      remix,
      recipe,
      button('➕ Emoji', encodeCustomId({ action: 'emoji', jobId: id, index })),
    ),
  ];
}

export function finalPayload(job: JobRecord, image: MessageFile, imageCount: number, note = ''): MessagePayload {
  return {
    content: clamp(`${headline(job)}\n${parameterLine(job)}${note ? `\n${note}` : ''}`),
    components: resultComponents(job, imageCount),
    files: [image],
  };
}

/** Image n of a grid, posted alone (U button): no new job, the stored file is reused. */
export function pickPayload(parent: JobRecord, index: number, image: MessageFile, pickedBy: string): MessagePayload {
  const seed = parent.result?.seeds[index - 1] ?? parent.request.seed + index - 1;
  const r = parent.request;
  return {
    content: clamp(
      `**${escapeMarkdown(r.prompt.slice(0, 300))}** — image ${index} for <@${pickedBy}>\nseed ${seed} · ${r.steps} steps · guidance ${r.guidance} · ${r.sampler} · ${r.width}×${r.height}`,
    ),
    components: resultComponents(parent, 1, index),
    files: [image],
  };
}

/** A timelapse or diffusion job's message: the file and its plain-language caption, no buttons. */
export function mediaPayload(job: JobRecord, file: MessageFile, caption: string): MessagePayload {
  return { content: clamp(`${headline(job)}\n${parameterLine(job)}\n${caption}`), components: [], files: [file] };
}

export function endedPayload(job: JobRecord, text: string): MessagePayload {
  return { content: clamp(`${headline(job)}\n${text}`), components: [], files: [] };
}

function clamp(text: string): string {
  return text.length <= CONTENT_LIMIT ? text : `${text.slice(0, CONTENT_LIMIT - 1)}…`;
}
