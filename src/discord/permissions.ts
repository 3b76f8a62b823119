// Who counts as a moderator: Discord's Manage Server permission, or a role the server configured.
// /settings is also hidden from others by default_member_permissions, but that is only a default a
// server admin can change, so every moderator action checks again here.
import { PermissionFlagsBits, type BaseInteraction } from 'discord.js';
import type { GuildSettings } from '../queue/index.ts';

export function memberRoleIds(interaction: BaseInteraction): string[] {
  const member = interaction.member;
  if (!member) return [];
  const roles = member.roles;
  return Array.isArray(roles) ? roles : [...roles.cache.keys()];
}

export function isModerator(interaction: BaseInteraction, settings: Pick<GuildSettings, 'moderatorRoleIds'>): boolean {
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return true;
  const roles = memberRoleIds(interaction);
  return settings.moderatorRoleIds.some((id) => roles.includes(id));
}
