/**
 * The command table: every `vswitch` command, in the order help lists them. Parsing (parse.ts), help
 * (help.ts) and completion (completion.ts) all read it; a new command is one declaration in its group's file.
 */
import type { Command } from './command.js';
import { captureCommands } from './capture.js';
import { configCommands } from './config.js';
import { fdbCommands } from './fdb.js';
import { metaCommands } from './meta.js';
import { policyCommands } from './policy.js';
import { portCommands } from './port.js';
import { queueCommands } from './queues.js';
import { schemaCommands } from './schema.js';
import { showCommands } from './show.js';
import { switchCommands } from './switch.js';

export const commands: readonly Command[] = [
  ...showCommands,
  ...switchCommands,
  ...portCommands,
  ...policyCommands,
  ...fdbCommands,
  ...queueCommands,
  ...captureCommands,
  ...configCommands,
  ...schemaCommands,
  ...metaCommands(() => commands),
];
