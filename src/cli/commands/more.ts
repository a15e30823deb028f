import type { Command } from 'commander';
import type { CliIo } from '../main.js';
import { blobCommand } from './blob.js';
import { catalogCommand } from './catalog.js';
import { loginCommand, logoutCommand } from './login.js';
import { syncCommand } from './sync.js';
import { tagCommand } from './tag.js';

/** login, logout, tag, catalog, blob, sync. */
export function moreCommands(io: CliIo): Command[] {
  return [loginCommand(io), logoutCommand(io), syncCommand(io), tagCommand(io), catalogCommand(io), blobCommand(io)];
}
