// A local Discord-compatible server (REST v10 + gateway) for end-to-end tests. See README.md.
export {
  DiscordServer,
  startDiscordServer,
  NoBotConnectedError,
  type SlashOptions,
  type ClickOptions,
  type ModalSubmitOptions,
} from './server.ts';
export type { DiscordServerOptions, RequestRecord } from './state.ts';
export {
  InteractionHandle,
  CallbackType,
  InteractionType,
  customIds,
  findComponent,
  type Acknowledgement,
  type AnsweredError,
} from './interactions.ts';
export {
  MessageFlags,
  isEphemeral,
  isLoading,
  type StoredMessage,
  type StoredAttachment,
  type MessageWrite,
  type UserUpload,
} from './messages.ts';
export type { InjectOptions, Injection, RateLimitPolicy } from './ratelimit.ts';
export { SlashCommandError, OptionType, type RegisteredCommand, type OptionValue } from './commands.ts';
export { WaitTimeoutError } from './waiting.ts';
export { Permission, ALL_PERMISSIONS, EVERYONE_PERMISSIONS } from './permissions.ts';
export type { FakeUser, FakeChannel, FakeRole, FakeGuild, FakeOverwrite, World } from './world.ts';
export { LIMITS } from './limits.ts';
