// Message components: action rows of buttons and select menus (and custom_id rules for v2 layouts).
import { LIMITS, type Fail } from './limits.ts';

type Json = Record<string, unknown>;

const BUTTON = 2;
const ACTION_ROW = 1;
const SELECT_TYPES = new Set([3, 5, 6, 7, 8]);
const LINK_STYLE = 5;
const PREMIUM_STYLE = 6;

export function checkComponents(components: unknown, v2: boolean, fail: Fail): void {
  if (!Array.isArray(components)) {
    fail('components', 'BASE_TYPE_LIST', 'Must be an array.', 'components must be an array');
    return;
  }
  const seen = new Map<string, string>();
  const checkCustomId = (component: Json, path: string) => {
    const id = component.custom_id;
    if (typeof id !== 'string' || id.length < 1 || id.length > LIMITS.customIdLength) {
      const length = typeof id === 'string' ? id.length : 0;
      fail(
        `${path}.custom_id`,
        'BASE_TYPE_BAD_LENGTH',
        `Must be between 1 and ${LIMITS.customIdLength} in length.`,
        `custom_id at ${path} is ${length} characters, expected 1 to ${LIMITS.customIdLength}`,
      );
      return;
    }
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      fail(
        `${path}.custom_id`,
        'COMPONENT_CUSTOM_ID_DUPLICATED',
        'Component custom id cannot be duplicated',
        `custom_id "${id}" at ${path} duplicates the one at ${earlier}; custom_ids must be unique within a message`,
      );
      return;
    }
    seen.set(id, path);
  };

  if (v2) {
    // Components v2 nest freely; only the custom_id rules are checked here.
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== 'object') return;
      const component = node as Json;
      if (
        typeof component.custom_id === 'string' ||
        (component.type === BUTTON && component.style !== LINK_STYLE && component.style !== PREMIUM_STYLE)
      ) {
        checkCustomId(component, path);
      }
      if (Array.isArray(component.components))
        component.components.forEach((c, i) => walk(c, `${path}.components.${i}`));
      if (component.accessory) walk(component.accessory, `${path}.accessory`);
    };
    components.forEach((c, i) => walk(c, `components.${i}`));
    return;
  }

  if (components.length > LIMITS.actionRows) {
    fail(
      'components',
      'BASE_TYPE_MAX_LENGTH',
      `Must be ${LIMITS.actionRows} or fewer in length.`,
      `${components.length} action rows, at most ${LIMITS.actionRows} allowed`,
    );
  }
  components.forEach((row: Json, r: number) => {
    const rowPath = `components.${r}`;
    if (!row || row.type !== ACTION_ROW) {
      fail(
        `${rowPath}.type`,
        'UNION_TYPE_CHOICES',
        'Value of field "type" must be one of (1,).',
        `top-level component ${r} has type ${row?.type}, expected an action row (type 1)`,
      );
      return;
    }
    const children = Array.isArray(row.components) ? (row.components as Json[]) : [];
    if (children.length < 1 || children.length > LIMITS.componentsPerRow) {
      fail(
        `${rowPath}.components`,
        'BASE_TYPE_BAD_LENGTH',
        `Must be between 1 and ${LIMITS.componentsPerRow} in length.`,
        `action row ${r} holds ${children.length} components, expected 1 to ${LIMITS.componentsPerRow}`,
      );
    }
    children.forEach((component, c) => {
      const path = `${rowPath}.components.${c}`;
      if (component.type === BUTTON) {
        const style = component.style as number;
        if (!Number.isInteger(style) || style < 1 || style > 6) {
          fail(
            `${path}.style`,
            'BASE_TYPE_CHOICES',
            'Value must be one of (1, 2, 3, 4, 5, 6).',
            `button at ${path} has style ${String(style)}, expected 1 to 6`,
          );
        }
        if (style !== PREMIUM_STYLE && !component.label && !component.emoji) {
          fail(
            `${path}`,
            'BUTTON_COMPONENT_INVALID',
            'A button needs a label or an emoji',
            `button at ${path} has neither a label nor an emoji`,
          );
        }
        if (component.style === LINK_STYLE) {
          if (typeof component.url !== 'string')
            fail(`${path}.url`, 'BASE_TYPE_REQUIRED', 'This field is required', `link button at ${path} has no url`);
        } else if (component.style !== PREMIUM_STYLE) {
          checkCustomId(component, path);
        }
        if (typeof component.label === 'string' && component.label.length > LIMITS.buttonLabelLength) {
          fail(
            `${path}.label`,
            'BASE_TYPE_MAX_LENGTH',
            `Must be ${LIMITS.buttonLabelLength} or fewer in length.`,
            `button label at ${path} is ${component.label.length} characters, at most ${LIMITS.buttonLabelLength} allowed`,
          );
        }
      } else if (SELECT_TYPES.has(component.type as number)) {
        checkCustomId(component, path);
        if (children.length > 1) {
          fail(
            `${rowPath}.components`,
            'COMPONENT_LAYOUT_WIDTH_EXCEEDED',
            'The specified component exceeds the maximum width',
            `select menu at ${path} shares its action row with other components`,
          );
        }
        if (component.type === 3) {
          const opts = Array.isArray(component.options) ? component.options.length : 0;
          if (opts < 1 || opts > LIMITS.selectOptions) {
            fail(
              `${path}.options`,
              'BASE_TYPE_BAD_LENGTH',
              `Must be between 1 and ${LIMITS.selectOptions} in length.`,
              `select menu at ${path} has ${opts} options, expected 1 to ${LIMITS.selectOptions}`,
            );
          }
        }
      } else {
        fail(
          `${path}.type`,
          'UNION_TYPE_CHOICES',
          'Value of field "type" is not a valid component type inside an action row.',
          `component at ${path} has type ${component.type}, which cannot sit in an action row`,
        );
      }
    });
  });
}
