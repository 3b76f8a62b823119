// Discord snowflakes: milliseconds since the Discord epoch in the top bits, so discord.js derives
// realistic createdTimestamp values from the ids this server hands out.
const DISCORD_EPOCH = 1420070400000n;
let increment = 0n;

export function snowflake(at: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(at) - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment).toString();
}

export function randomToken(prefix: string): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return `${prefix}.${Buffer.from(bytes).toString('base64url')}`;
}
