// Checks on the free text of /imagine (prompt, negative) before anything is queued. Discord's client
// enforces the option's max_length, but a modified client or a raw API call does not, so the bot
// checks again. Prompts longer than the model's token window (but within the character limit) are
// accepted: the engine truncates them and logs a warning.
import { InvalidOptionError } from '../discord/errors.ts';

// C0 and C1 control characters, except tab, line feed and carriage return (treated as spaces).
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
// What leaves nothing visible: spaces of every kind and invisible formatting (zero-width, BOM, bidi).
const INVISIBLE = /[\s\p{Cf}\p{Zs}\u115F\u1160\u3164\uFFA0]/gu;

/** Throws InvalidOptionError for text over `maxChars`, with control characters, or (when required) nothing visible. */
export function checkPromptText(field: 'prompt' | 'negative', text: string, maxChars: number, required: boolean): void {
  const chars = [...text].length;
  if (chars > maxChars) {
    throw new InvalidOptionError(
      `the ${field} is ${chars} characters long; at most ${maxChars} are allowed. Shorten it and try again.`,
      { field, chars },
    );
  }
  const control = CONTROL.exec(text);
  if (control) {
    const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new InvalidOptionError(
      `the ${field} contains a control character (U+${code}); remove it and type the text again.`,
      { field },
    );
  }
  if (required && text.replace(INVISIBLE, '') === '') {
    throw new InvalidOptionError(`the ${field} is empty; describe what to draw.`, { field });
  }
}
