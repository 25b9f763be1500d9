/** `vswitch schema`: the config file's JSON Schema, or the settings reference, from the declarations (no daemon needed). */
import { configSchema, settingsMarkdown } from '../settings/schema.js';
import type { Command } from './command.js';

export const schemaCommands: Command[] = [
  {
    path: ['schema'],
    args: [],
    summary: 'the JSON Schema (draft 2020-12) of the config file, for editors; --markdown: the settings reference',
    options: { markdown: { type: 'boolean', help: 'print the settings reference (docs/settings.md) instead' } },
    examples: ['vswitch schema > vswitch.schema.json', 'vswitch schema --markdown'],
    async run({ flags, out }) {
      out(flags.markdown ? settingsMarkdown() : JSON.stringify(configSchema(), null, 2));
    },
  },
];
