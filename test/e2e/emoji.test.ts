// ➕ Emoji: a member is refused; a moderator is told what to grant while the bot lacks Manage Expressions;
// with it, the drawing (the embedded model's, on white) becomes a 128x128 emoji with a transparent
// background, named from the prompt; a full emoji list gets a clear message.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { Harness, buttonIdFor, isFinal, ephemeralAnswer } from './harness.ts';
import { Permission } from '../support/discord/index.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({ modelDir: join(import.meta.dirname, '../../models/emoji-tiny') });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

test('➕ Emoji: members refused, the missing permission explained, then added; a full list said so', async () => {
  const final = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a red apple', steps: 12, seed: 3 } })
    .waitFor(isFinal);
  const press = (user = h.users.moderator) =>
    h.server.click({ user, message: final, customId: buttonIdFor(final, '➕ Emoji') });
  await ephemeralAnswer(h, press(h.users.alice), /Only moderators can add a result to the server emoji/);
  await ephemeralAnswer(h, press(), /I need the \*\*Manage Expressions\*\* permission/);
  assert.equal(h.server.guild.emojis.length, 0);

  h.server.guild.roles.bot.permissions |= Permission.ManageGuildExpressions;
  const added = await ephemeralAnswer(h, press(), /Added <:red_apple:\d+> as `:red_apple:`/);
  assert.ok(added);
  const [emoji] = h.server.guild.emojis;
  assert.equal(emoji.name, 'red_apple');
  assert.equal(emoji.contentType, 'image/png');
  assert.ok(emoji.data.length <= 256 * 1024);
  const { data, info } = await sharp(emoji.data).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [128, 128]);
  const alpha = (x: number, y: number) => data[(y * 128 + x) * 4 + 3];
  assert.equal(alpha(0, 0) + alpha(127, 0) + alpha(0, 127) + alpha(127, 127), 0, 'the corners are transparent');
  let opaque = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] === 255) opaque++;
  assert.ok(opaque > 128 * 128 * 0.2, `the drawing is kept (${opaque} opaque pixels)`);

  h.server.guild.emojiLimit = h.server.guild.emojis.length;
  await ephemeralAnswer(h, press(), /emoji list is full/);
  assert.equal(h.server.guild.emojis.length, 1);
});
