// The bot's command set: every slash command and button family, in the order Discord lists them.
// src/app builds the registry from these lists and hands it to the Discord layer.
import { buildRegistry, commandDefinitions, type Registry } from '../discord/registry.ts';
import { cancelButton, deleteButton, jobButtons } from './buttons.ts';
import { cancel } from './cancel.ts';
import { diffusion } from './diffusion.ts';
import { help } from './help.ts';
import { imagine } from './imagine.ts';
import { queue } from './queue.ts';
import { settings } from './settings.ts';
import { timelapseButton } from './timelapse.ts';
import { remixButton } from './remix.ts';
import { recipeButton } from './recipe.ts';
import { upscaleButton } from './upscale.ts';
import { emojiButton } from './emoji.ts';

export const SLASH_COMMANDS = [imagine, settings, queue, cancel, help, diffusion] as const;
export const BUTTON_FAMILIES = [
  jobButtons,
  cancelButton,
  deleteButton,
  timelapseButton,
  remixButton,
  recipeButton,
  upscaleButton,
  emojiButton,
] as const;

/** The registry of this bot's commands and buttons. */
export function botRegistry(): Registry {
  return buildRegistry(SLASH_COMMANDS, BUTTON_FAMILIES);
}

/** The JSON Discord gets when the commands are registered (a bulk overwrite). */
export function botCommandDefinitions() {
  return commandDefinitions(botRegistry());
}
