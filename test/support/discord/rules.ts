// Discord's documented limits on message payloads. Each broken rule becomes a violation message
// (recorded by the server) and the error answer Discord would give.
import { DiscordHttpError, entityTooLarge, invalidFormBody, type FieldError } from './errors.ts';
import type { UploadedFile } from './multipart.ts';

export const LIMITS = {
  contentLength: 2000,
  actionRows: 5,
  componentsPerRow: 5,
  customIdLength: 100,
  buttonLabelLength: 80,
  embeds: 10,
  attachments: 10,
  selectOptions: 25,
} as const;

const IS_COMPONENTS_V2 = 1 << 15;
const BUTTON = 2;
const ACTION_ROW = 1;
const SELECT_TYPES = new Set([3, 5, 6, 7, 8]);
const LINK_STYLE = 5;
const PREMIUM_STYLE = 6;

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

export function checkMessagePayload(payload: unknown, files: UploadedFile[], options: MessageRuleOptions): RuleCheck | null {
  const body = (payload ?? {}) as Json;
  const problems: FieldError[] = [];
  const violations: string[] = [];
  const fail = (path: string, code: string, message: string, violation: string) => {
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
    fail('attachments', 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.attachments} or fewer in length.`,
      `${files.length} files uploaded, at most ${LIMITS.attachments} allowed`);
  }

  if (body.content !== undefined && body.content !== null) {
    if (typeof body.content !== 'string') {
      fail('content', 'BASE_TYPE_STRING', 'Must be a string.', `content must be a string, got ${typeof body.content}`);
    } else if (body.content.length > LIMITS.contentLength) {
      fail('content', 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.contentLength} or fewer in length.`,
        `content is ${body.content.length} characters, at most ${LIMITS.contentLength} allowed`);
    }
  }

  if (Array.isArray(body.embeds) && body.embeds.length > LIMITS.embeds) {
    fail('embeds', 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.embeds} or fewer in length.`,
      `${body.embeds.length} embeds, at most ${LIMITS.embeds} allowed`);
  }

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
      return { violations: ['message has no content, embeds, components or files'], error: new DiscordHttpError(400, 50006, 'Cannot send an empty message') };
    }
  }

  return problems.length === 0 ? null : { violations, error: invalidFormBody(problems) };
}

type Fail = (path: string, code: string, message: string, violation: string) => void;

function checkComponents(components: unknown, v2: boolean, fail: Fail): void {
  if (!Array.isArray(components)) {
    fail('components', 'BASE_TYPE_LIST', 'Must be an array.', 'components must be an array');
    return;
  }
  const seen = new Map<string, string>();
  const checkCustomId = (component: Json, path: string) => {
    const id = component.custom_id;
    if (typeof id !== 'string' || id.length < 1 || id.length > LIMITS.customIdLength) {
      const length = typeof id === 'string' ? id.length : 0;
      fail(`${path}.custom_id`, 'BASE_TYPE_BAD_LENGTH', `Must be between 1 and ${LIMITS.customIdLength} in length.`,
        `custom_id at ${path} is ${length} characters, expected 1 to ${LIMITS.customIdLength}`);
      return;
    }
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      fail(`${path}.custom_id`, 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated',
        `custom_id "${id}" at ${path} duplicates the one at ${earlier}; custom_ids must be unique within a message`);
      return;
    }
    seen.set(id, path);
  };

  if (v2) {
    // Components v2 nest freely; only the custom_id rules are checked here.
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== 'object') return;
      const component = node as Json;
      if (typeof component.custom_id === 'string' || component.type === BUTTON && component.style !== LINK_STYLE && component.style !== PREMIUM_STYLE) {
        checkCustomId(component, path);
      }
      if (Array.isArray(component.components)) component.components.forEach((c, i) => walk(c, `${path}.components.${i}`));
      if (component.accessory) walk(component.accessory, `${path}.accessory`);
    };
    components.forEach((c, i) => walk(c, `components.${i}`));
    return;
  }

  if (components.length > LIMITS.actionRows) {
    fail('components', 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.actionRows} or fewer in length.`,
      `${components.length} action rows, at most ${LIMITS.actionRows} allowed`);
  }
  components.forEach((row: Json, r: number) => {
    const rowPath = `components.${r}`;
    if (!row || row.type !== ACTION_ROW) {
      fail(`${rowPath}.type`, 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).',
        `top-level component ${r} has type ${row?.type}, expected an action row (type 1)`);
      return;
    }
    const children = Array.isArray(row.components) ? (row.components as Json[]) : [];
    if (children.length < 1 || children.length > LIMITS.componentsPerRow) {
      fail(`${rowPath}.components`, 'BASE_TYPE_BAD_LENGTH', `Must be between 1 and ${LIMITS.componentsPerRow} in length.`,
        `action row ${r} holds ${children.length} components, expected 1 to ${LIMITS.componentsPerRow}`);
    }
    children.forEach((component, c) => {
      const path = `${rowPath}.components.${c}`;
      if (component.type === BUTTON) {
        if (component.style === LINK_STYLE) {
          if (typeof component.url !== 'string') fail(`${path}.url`, 'BASE_TYPE_REQUIRED', 'This field is required',
            `link button at ${path} has no url`);
        } else if (component.style !== PREMIUM_STYLE) {
          checkCustomId(component, path);
        }
        if (typeof component.label === 'string' && component.label.length > LIMITS.buttonLabelLength) {
          fail(`${path}.label`, 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.buttonLabelLength} or fewer in length.`,
            `button label at ${path} is ${component.label.length} characters, at most ${LIMITS.buttonLabelLength} allowed`);
        }
      } else if (SELECT_TYPES.has(component.type as number)) {
        checkCustomId(component, path);
        if (children.length > 1) {
          fail(`${rowPath}.components`, 'COMPONENT_LAYOUT_WIDTH_EXCEEDED', 'The specified component exceeds the maximum width',
            `select menu at ${path} shares its action row with other components`);
        }
        if (component.type === 3) {
          const opts = Array.isArray(component.options) ? component.options.length : 0;
          if (opts < 1 || opts > LIMITS.selectOptions) {
            fail(`${path}.options`, 'BASE_TYPE_BAD_LENGTH', `Must be between 1 and ${LIMITS.selectOptions} in length.`,
              `select menu at ${path} has ${opts} options, expected 1 to ${LIMITS.selectOptions}`);
          }
        }
      } else {
        fail(`${path}.type`, 'UNION_TYPE_CHOICES', 'Value of field "type" is not a valid component type inside an action row.',
          `component at ${path} has type ${component.type}, which cannot sit in an action row`);
      }
    });
  });
}
