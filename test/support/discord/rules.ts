// Discord's documented limits on message payloads. Each broken rule becomes a violation message
// (recorded by the server) and the error answer Discord would give.
import { DiscordHttpError, entityTooLarge, invalidFormBody, type FieldError } from './errors.ts';
import type { UploadedFile } from './multipart.ts';
import { LIMITS, type Fail } from './limits.ts';
import { checkComponents } from './rules-components.ts';
import { checkEmbeds } from './rules-embeds.ts';

const IS_COMPONENTS_V2 = 1 << 15;

export interface RuleCheck {
  /** Human-readable descriptions of each broken rule. */
  violations: string[];
  /** What Discord answers (the first blocking problem decides the status). */
  error: DiscordHttpError;
}

export interface MessageRuleOptions {
  attachmentSizeLimit: number;
  /** Creating a message (not editing one): an empty message is refused. */
  creating: boolean;
}

type Json = Record<string, unknown>;

export function checkMessagePayload(
  payload: unknown,
  files: UploadedFile[],
  options: MessageRuleOptions,
): RuleCheck | null {
  const body = (payload ?? {}) as Json;
  const problems: FieldError[] = [];
  const violations: string[] = [];
  const fail: Fail = (path, code, message, violation) => {
    problems.push({ path, code, message });
    violations.push(violation);
  };

  for (const file of files) {
    if (file.data.length > options.attachmentSizeLimit) {
      return {
        violations: [
          `attachment "${file.filename}" is ${file.data.length} bytes, over the ${options.attachmentSizeLimit}-byte attachment_size_limit`,
        ],
        error: entityTooLarge(),
      };
    }
  }
  if (files.length > LIMITS.attachments) {
    fail(
      'attachments',
      'BASE_TYPE_MAX_LENGTH',
      `Must be ${LIMITS.attachments} or fewer in length.`,
      `${files.length} files uploaded, at most ${LIMITS.attachments} allowed`,
    );
  }

  if (body.content !== undefined && body.content !== null) {
    if (typeof body.content !== 'string') {
      fail('content', 'BASE_TYPE_STRING', 'Must be a string.', `content must be a string, got ${typeof body.content}`);
    } else if (body.content.length > LIMITS.contentLength) {
      fail(
        'content',
        'BASE_TYPE_MAX_LENGTH',
        `Must be ${LIMITS.contentLength} or fewer in length.`,
        `content is ${body.content.length} characters, at most ${LIMITS.contentLength} allowed`,
      );
    }
  }

  if (body.embeds !== undefined && body.embeds !== null) checkEmbeds(body.embeds, fail);

  if (body.components !== undefined && body.components !== null) {
    const flags = Number(body.flags ?? 0);
    checkComponents(body.components, (flags & IS_COMPONENTS_V2) !== 0, fail);
  }

  if (options.creating && problems.length === 0) {
    const empty =
      !(typeof body.content === 'string' && body.content.length > 0) &&
      !(Array.isArray(body.embeds) && body.embeds.length > 0) &&
      !(Array.isArray(body.components) && body.components.length > 0) &&
      !(Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0) &&
      !body.poll &&
      files.length === 0;
    if (empty) {
      return {
        violations: ['message has no content, embeds, components or files'],
        error: new DiscordHttpError(400, 50006, 'Cannot send an empty message'),
      };
    }
  }

  return problems.length === 0 ? null : { violations, error: invalidFormBody(problems) };
}
