import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, createLogger } from '../../src/app/log.ts';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.fake-token-for-tests_0123456789';

function capture(secrets: Array<string | undefined> = [TOKEN], level = 'trace') {
  const lines: string[] = [];
  const logger = createLogger({ level, secrets, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, text: () => lines.join('') };
}

test('lines are JSON with level, time and message', () => {
  const { logger, lines } = capture();
  logger.info({ jobId: 'j1' }, 'job started');
  const line = JSON.parse(lines[0]);
  assert.equal(line.level, 30);
  assert.equal(line.msg, 'job started');
  assert.equal(line.jobId, 'j1');
  assert.equal(typeof line.time, 'number');
});

test('the literal token never appears, wherever it hides', () => {
  const { logger, text, lines } = capture();
  logger.info(`connecting with ${TOKEN}`);
  logger.info('formatted %s', TOKEN);
  logger.warn(
    { request: { url: `https://discord.com/api/v10/x?t=${TOKEN}`, nested: [{ deep: `Bot ${TOKEN}` }] } },
    'request',
  );
  logger.error({ err: new Error(`401 for token ${TOKEN}`) }, 'failed');
  const error = new Error('boom');
  error.stack = `Error: boom with ${TOKEN}\n    at somewhere`;
  logger.error(error);
  logger.child({ token: TOKEN, other: TOKEN }).debug('child');
  assert.equal(lines.length, 6);
  assert.ok(!text().includes(TOKEN), text());
  // The token's pieces are not left behind either (the scrub replaces it whole).
  assert.ok(!text().includes('fake-token-for-tests'), text());
  assert.equal(text().split(REDACTED).length - 1, 9, text());
  for (const line of lines) JSON.parse(line);
});

test('fields that carry secrets by name are blanked even when the value is unknown', () => {
  const { logger, text } = capture([]);
  logger.info(
    { headers: { authorization: 'Bot some-other-token-value' }, password: 'pw-123456', token: 'tok-abcdef' },
    'x',
  );
  assert.ok(!text().includes('some-other-token-value'));
  assert.ok(!text().includes('pw-123456'));
  assert.ok(!text().includes('tok-abcdef'));
  assert.equal(JSON.parse(text()).headers.authorization, REDACTED);
});

test('a secret with characters JSON escapes is still caught', () => {
  const secret = 'pa"ss\\word-with-quotes';
  const { logger, text } = capture([secret]);
  logger.info(`redis said ${secret}`);
  assert.ok(!text().includes(JSON.stringify(secret).slice(1, -1)), text());
  assert.ok(JSON.parse(text()).msg.includes(REDACTED));
});

test('the level filters, and an unset token changes nothing', () => {
  const { logger, lines } = capture([undefined], 'warn');
  logger.info('hidden');
  logger.warn('shown');
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]).msg, 'shown');
});

test('interaction tokens never appear: in a DiscordAPIError url, a stack, a rejection, a nested token field', async () => {
  const { DiscordAPIError } = await import('discord.js');
  const interactionToken = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OjEyMzQ1Njc4OTA';
  const { logger, text, lines } = capture([TOKEN]);
  const url = `https://discord.com/api/v10/webhooks/1234567890123456789/${interactionToken}/messages/@original`;
  const apiError = new DiscordAPIError({ code: 50027, message: 'Invalid Webhook Token' }, 50027, 401, 'PATCH', url, {
    body: {},
    files: undefined,
  });
  logger.error({ err: apiError }, 'edit failed');
  logger.warn(
    { err: { name: 'Error', message: `POST /interactions/1234567890123456789/${interactionToken}/callback failed` } },
    'callback',
  );
  const rejection = new Error('request failed');
  rejection.stack = `Error: request failed ${url}\n    at x`;
  logger.error({ err: rejection }, 'unhandled promise rejection');
  logger.info({ job: { delivery: { token: interactionToken, channelId: '5' } } }, 'job');
  assert.equal(lines.length, 4);
  assert.ok(!text().includes(interactionToken), text());
  assert.ok(!text().includes(interactionToken.slice(0, 20)), text());
  assert.match(text(), /webhooks\/1234567890123456789\/\[REDACTED\]/);
  for (const line of lines) JSON.parse(line);
});
