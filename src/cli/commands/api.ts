import type { Command } from 'commander';
import type { CliIo } from '../main.js';
import { logsCommand } from './logs.js';
import { orgCommand } from './org.js';
import { repoCommand } from './repo.js';
import { robotCommand } from './robot.js';
import { teamCommand } from './team.js';
import { tokenCommand } from './token.js';
import { userCommand } from './user.js';

/** The management commands, which talk to a Berth registry's `/api/v1/` (docs/api.md). */
export function apiCommands(io: CliIo): Command[] {
  return [userCommand(io), orgCommand(io), teamCommand(io), robotCommand(io), repoCommand(io), tokenCommand(io), logsCommand(io)];
}
