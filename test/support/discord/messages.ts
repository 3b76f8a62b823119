// Messages the bot created (interaction responses, follow-ups, channel messages), with their
// attachments' bytes and components, and Discord's rules for how an edit changes them.
import { snowflake } from './snowflake.ts';
import type { UploadedFile } from './multipart.ts';
import { apiUser, type FakeUser } from './world.ts';

type Json = Record<string, unknown>;

export const MessageFlags = {
  Ephemeral: 1 << 6,
  Loading: 1 << 7,
  SuppressEmbeds: 1 << 2,
  IsComponentsV2: 1 << 15,
} as const;

export interface StoredAttachment {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  /** The uploaded bytes (a PNG can be decoded straight from here). */
  data: Buffer;
  description?: string;
  /** Where the server serves the bytes (GET). */
  url: string;
  /** Image size, when the upload is an image (Discord resolves it for attachment options). */
  width?: number;
  height?: number;
  /** CDN behaviour for tests: answer a GET with a redirect to this URL instead of the bytes ... */
  redirectTo?: string;
  /** ... or only after this long. */
  delayMs?: number;
}

/** What a user uploads with a slash command's attachment option (`server.upload`). */
export interface UserUpload {
  filename: string;
  contentType: string;
  data: Buffer;
  width?: number;
  height?: number;
  redirectTo?: string;
  delayMs?: number;
}

export type MessageKind = 'interaction-response' | 'follow-up' | 'channel';

export interface StoredMessage {
  id: string;
  channelId: string;
  guildId: string;
  authorId: string;
  kind: MessageKind;
  /** The interaction whose response or follow-up this is. */
  interactionId?: string;
  content: string;
  flags: number;
  embeds: Json[];
  /** Components exactly as the bot sent them (API JSON). */
  components: Json[];
  attachments: StoredAttachment[];
  allowedMentions?: Json;
  messageReference?: Json;
  createdAt: number;
  editedAt: number | null;
  /** Number of edits applied since creation. */
  version: number;
  deleted: boolean;
}

/** An edit (or the creating write) as it landed, with the message state right after it. */
export interface MessageWrite {
  at: number;
  messageId: string;
  /** What carried it: an interaction callback, a webhook edit/follow-up, or a bot channel request. */
  via: 'callback' | 'webhook' | 'channel';
  method: string;
  /** The message right after this write (a copy; attachments share their bytes). */
  message: StoredMessage;
}

export function isEphemeral(message: StoredMessage): boolean {
  return (message.flags & MessageFlags.Ephemeral) !== 0;
}

export function isLoading(message: StoredMessage): boolean {
  return (message.flags & MessageFlags.Loading) !== 0;
}

export function snapshot(message: StoredMessage): StoredMessage {
  return {
    ...message,
    embeds: structuredClone(message.embeds),
    components: structuredClone(message.components),
    attachments: message.attachments.map((a) => ({ ...a })),
  };
}

export class MessageStore {
  readonly #messages = new Map<string, StoredMessage>();
  readonly #byChannel = new Map<string, StoredMessage[]>();
  readonly #attachments = new Map<string, StoredAttachment>();

  constructor(readonly baseUrl: () => string) {}

  create(
    fields: Pick<StoredMessage, 'channelId' | 'guildId' | 'authorId' | 'kind' | 'interactionId'> & { flags?: number },
  ): StoredMessage {
    const message: StoredMessage = {
      id: snowflake(),
      content: '',
      flags: fields.flags ?? 0,
      embeds: [],
      components: [],
      attachments: [],
      createdAt: Date.now(),
      editedAt: null,
      version: 0,
      deleted: false,
      ...fields,
    };
    this.#messages.set(message.id, message);
    const list = this.#byChannel.get(message.channelId) ?? [];
    list.push(message);
    this.#byChannel.set(message.channelId, list);
    return message;
  }

  get(id: string): StoredMessage | undefined {
    const message = this.#messages.get(id);
    return message && !message.deleted ? message : undefined;
  }

  /** Like get, but also finds deleted messages (for failure descriptions). */
  getEvenDeleted(id: string): StoredMessage | undefined {
    return this.#messages.get(id);
  }

  inChannel(channelId: string): StoredMessage[] {
    return (this.#byChannel.get(channelId) ?? []).filter((m) => !m.deleted);
  }

  attachment(id: string): StoredAttachment | undefined {
    return this.#attachments.get(id);
  }

  /** A user's upload in a channel, as an attachment option makes it (served like every attachment). */
  upload(channelId: string, upload: UserUpload): StoredAttachment {
    const id = snowflake();
    const attachment: StoredAttachment = {
      ...upload,
      id,
      size: upload.data.length,
      url: `${this.baseUrl()}/attachments/${channelId}/${id}/${encodeURIComponent(upload.filename)}`,
    };
    this.#attachments.set(id, attachment);
    return attachment;
  }

  /**
   * Applies a create or edit payload the way Discord does: fields present replace the old ones;
   * with an `attachments` array, only the listed existing attachments stay and new files are the
   * entries whose id is a `files[n]` index; without one, existing attachments stay and new files
   * are added.
   */
  apply(message: StoredMessage, payload: unknown, files: UploadedFile[], editing: boolean): void {
    const body = (payload ?? {}) as Json;
    if ('content' in body) message.content = typeof body.content === 'string' ? body.content : '';
    if ('embeds' in body) message.embeds = Array.isArray(body.embeds) ? (body.embeds as Json[]) : [];
    if ('components' in body) message.components = Array.isArray(body.components) ? (body.components as Json[]) : [];
    if ('allowed_mentions' in body) message.allowedMentions = body.allowed_mentions as Json;
    if ('message_reference' in body && !editing) message.messageReference = body.message_reference as Json;
    if (typeof body.flags === 'number') {
      // Ephemeral is fixed at creation; on edits only SUPPRESS_EMBEDS and components v2 may change.
      const editable = editing ? MessageFlags.SuppressEmbeds | MessageFlags.IsComponentsV2 : ~MessageFlags.Loading;
      message.flags = (message.flags & ~editable) | (body.flags & editable);
    }
    message.attachments = this.#mergeAttachments(message, body.attachments, files);
    message.flags &= ~MessageFlags.Loading; // the first real write ends "Bot is thinking..."
    if (editing) {
      message.editedAt = Date.now();
      message.version++;
    }
  }

  delete(message: StoredMessage): void {
    message.deleted = true;
  }

  #mergeAttachments(message: StoredMessage, listed: unknown, files: UploadedFile[]): StoredAttachment[] {
    const upload = (file: UploadedFile, meta: Json = {}): StoredAttachment => {
      const id = snowflake();
      const filename = typeof meta.filename === 'string' ? meta.filename : file.filename;
      const attachment: StoredAttachment = {
        id,
        filename,
        contentType: file.contentType,
        size: file.data.length,
        data: file.data,
        ...(typeof meta.description === 'string' ? { description: meta.description } : {}),
        url: `${this.baseUrl()}/attachments/${message.channelId}/${id}/${encodeURIComponent(filename)}`,
      };
      this.#attachments.set(id, attachment);
      return attachment;
    };
    if (!Array.isArray(listed)) return [...message.attachments, ...files.map((f) => upload(f))];
    const byIndex = new Map(files.map((f) => [f.index, f]));
    const used = new Set<string>();
    const result: StoredAttachment[] = [];
    for (const entry of listed as Json[]) {
      const id = String(entry?.id);
      const existing = message.attachments.find((a) => a.id === id);
      if (existing) result.push(existing);
      else if (byIndex.has(id) && !used.has(id)) {
        used.add(id);
        result.push(upload(byIndex.get(id)!, entry));
      }
    }
    // Discord also keeps uploaded files that the attachments array forgot to describe.
    for (const file of files) if (!used.has(file.index)) result.push(upload(file));
    return result;
  }
}

export function apiAttachment(attachment: StoredAttachment): Json {
  return {
    id: attachment.id,
    filename: attachment.filename,
    size: attachment.size,
    url: attachment.url,
    proxy_url: attachment.url,
    content_type: attachment.contentType,
    ...(attachment.description ? { description: attachment.description } : {}),
    ...(attachment.width !== undefined ? { width: attachment.width, height: attachment.height } : {}),
  };
}

export interface ApiMessageContext {
  author: FakeUser;
  applicationId: string;
  /** Present for interaction responses and follow-ups. */
  interaction?: { id: string; type: number; user: FakeUser; name?: string };
}

export function apiMessage(message: StoredMessage, context: ApiMessageContext): Json {
  const viaWebhook = message.kind !== 'channel';
  return {
    id: message.id,
    type: message.kind === 'interaction-response' && context.interaction?.type === 2 ? 20 : 0,
    channel_id: message.channelId,
    guild_id: message.guildId,
    author: apiUser(context.author),
    content: message.content,
    timestamp: new Date(message.createdAt).toISOString(),
    edited_timestamp: message.editedAt === null ? null : new Date(message.editedAt).toISOString(),
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: message.attachments.map(apiAttachment),
    embeds: message.embeds,
    components: message.components,
    pinned: false,
    flags: message.flags,
    ...(viaWebhook ? { webhook_id: context.applicationId, application_id: context.applicationId } : {}),
    ...(message.messageReference ? { message_reference: message.messageReference } : {}),
    ...(context.interaction
      ? {
          interaction_metadata: {
            id: context.interaction.id,
            type: context.interaction.type,
            user: apiUser(context.interaction.user),
            authorizing_integration_owners: { '0': message.guildId },
          },
        }
      : {}),
  };
}
