// What /settings shows: every setting of a server in a few lines (the subcommands reply with their part).
import type { GuildSettings } from '../queue/index.ts';
import { describeSafety } from './settings-safety.ts';

export function describeSettings(s: GuildSettings): string {
  const channels = (ids: string[]) => (ids.length === 0 ? 'none' : ids.map((id) => `<#${id}>`).join(' '));
  return [
    '**Limits**',
    `max_steps ${s.maxSteps} · max_count ${s.maxCount} · max_pending ${s.maxPending} · cooldown ${s.cooldownSeconds} s · daily_quota ${s.dailyQuota} · max_side ${s.maxSide}`,
    `**Samplers** ${s.allowedSamplers.join(', ')}`,
    `**Banned words** ${
      s.bannedWords.length === 0
        ? 'none'
        : s.bannedWords
            .map((w) => `\`${w}\``)
            .join(', ')
            .slice(0, 1200)
    }`,
    slurLine(s),
    `**Allowed channels** ${s.allowedChannels.length === 0 ? 'all' : channels(s.allowedChannels)}`,
    `**Denied channels** ${channels(s.deniedChannels)}`,
    describeSafety(s),
    `**Styles** ${s.styles.length === 0 ? 'none' : s.styles.map((st) => `\`${st.name}\``).join(', ')}`,
    `**Moderator roles** ${s.moderatorRoleIds.length === 0 ? 'none (Manage Server only)' : s.moderatorRoleIds.map((id) => `<@&${id}>`).join(' ')}`,
  ].join('\n');
}

export function slurLine(s: GuildSettings): string {
  return `**Slur filter** ${s.slurFilter ? 'on: slurs are refused in prompts, however they are spelled' : 'off'}`;
}
