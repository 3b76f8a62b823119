// Embed limits: count, per-field lengths and the 6000-character total across a message's embeds.
import { LIMITS, type Fail } from './limits.ts';

type Json = Record<string, unknown>;

export function checkEmbeds(embeds: unknown, fail: Fail): void {
  if (!Array.isArray(embeds)) {
    fail('embeds', 'BASE_TYPE_LIST', 'Must be an array.', 'embeds must be an array');
    return;
  }
  if (embeds.length > LIMITS.embeds) {
    fail(
      'embeds',
      'BASE_TYPE_MAX_LENGTH',
      `Must be ${LIMITS.embeds} or fewer in length.`,
      `${embeds.length} embeds, at most ${LIMITS.embeds} allowed`,
    );
  }
  let total = 0;
  const text = (value: unknown, path: string, max: number, what: string) => {
    if (typeof value !== 'string') return;
    total += value.length;
    if (value.length > max) {
      fail(
        path,
        'BASE_TYPE_MAX_LENGTH',
        `Must be ${max} or fewer in length.`,
        `${what} at ${path} is ${value.length} characters, at most ${max} allowed`,
      );
    }
  };
  embeds.forEach((embed: Json, e: number) => {
    const at = `embeds.${e}`;
    text(embed.title, `${at}.title`, LIMITS.embedTitle, 'embed title');
    text(embed.description, `${at}.description`, LIMITS.embedDescription, 'embed description');
    text((embed.footer as Json | undefined)?.text, `${at}.footer.text`, LIMITS.embedFooter, 'embed footer');
    text((embed.author as Json | undefined)?.name, `${at}.author.name`, LIMITS.embedAuthor, 'embed author name');
    const fields = Array.isArray(embed.fields) ? (embed.fields as Json[]) : [];
    if (fields.length > LIMITS.embedFields) {
      fail(
        `${at}.fields`,
        'BASE_TYPE_MAX_LENGTH',
        `Must be ${LIMITS.embedFields} or fewer in length.`,
        `embed ${e} has ${fields.length} fields, at most ${LIMITS.embedFields} allowed`,
      );
    }
    fields.forEach((field, f) => {
      text(field.name, `${at}.fields.${f}.name`, LIMITS.embedFieldName, 'embed field name');
      text(field.value, `${at}.fields.${f}.value`, LIMITS.embedFieldValue, 'embed field value');
    });
  });
  if (total > LIMITS.embedTotal) {
    fail(
      'embeds',
      'MAX_EMBED_SIZE_EXCEEDED',
      'Embed size exceeds maximum size of 6000',
      `embeds hold ${total} characters in all, at most ${LIMITS.embedTotal} allowed`,
    );
  }
}
