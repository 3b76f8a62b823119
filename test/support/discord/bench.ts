// Prints the fake server's own overhead with a bare discord.js client: dispatch-to-ack latency and
// editReply round trips (64x64 PNG). A bot's measured ack latency includes this floor.
// Run: npx tsx test/support/discord/bench.ts [interactions=200] [gapMs=30]
// The gap keeps the client under discord.js's own 50 requests/s global limit (2 requests each).
import { AttachmentBuilder, Client, Events, GatewayIntentBits, SlashCommandBuilder } from 'discord.js';
import sharp from 'sharp';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDiscordServer } from './index.ts';

const count = Number(process.argv[2] ?? 200);
const gapMs = Number(process.argv[3] ?? 30);
const server = await startDiscordServer({ editRateLimit: null });
const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: server.apiUrl } });
const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
await client.login(server.token);
await ready;
await client.application!.commands.set(
  [new SlashCommandBuilder().setName('go').setDescription('Go').toJSON()],
  server.guildId,
);
const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } })
  .png()
  .toBuffer();
const editMs: number[] = [];
client.on(Events.InteractionCreate, async (i) => {
  if (!i.isChatInputCommand()) return;
  await i.deferReply();
  const start = performance.now();
  await i.editReply({ content: 'done', files: [new AttachmentBuilder(png, { name: 'x.png' })] });
  editMs.push(performance.now() - start);
});

const started = performance.now();
for (let n = 0; n < count; n++) {
  const handle = server.slash({ user: server.users.alice, command: 'go' });
  await handle.waitFor((m) => m.content === 'done');
  await sleep(gapMs);
}
const wall = performance.now() - started;

const pct = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const ack = server.ackLatencies();
const fmt = (v: number) => v.toFixed(1);
console.log(
  `interactions: ${count} sequential, ${gapMs} ms apart (slash -> deferReply -> editReply with a ${png.length}-byte PNG)`,
);
console.log(`ack latency ms: p50 ${fmt(pct(ack, 50))}  p99 ${fmt(pct(ack, 99))}  max ${fmt(Math.max(...ack))}`);
console.log(
  `editReply round trip ms: p50 ${fmt(pct(editMs, 50))}  p99 ${fmt(pct(editMs, 99))}  max ${fmt(Math.max(...editMs))}`,
);
const rate = server.requests.filter((r) => r.at >= Date.now() - wall).length / (wall / 1000);
console.log(
  `REST requests/s: ${rate.toFixed(0)} (discord.js holds itself to 50/s globally, so above that its own waits show in the tail)`,
);
console.log(`violations: ${server.violations.length}`);
await client.destroy();
await server.close();
