/** Commands about vswitch itself: `run` (the daemon), `help`, `completion`, and the version. */
import { readFileSync } from 'node:fs';
import { runDaemon } from '../daemon.js';
import { UsageError, type Command } from './command.js';
import { bashScript, zshScript } from './completion.js';
import { helpFor } from './help.js';

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** `help` needs the whole table; it is handed in to break the cycle table -> meta -> table. */
export function metaCommands(table: () => readonly Command[]): Command[] {
  return [
    {
      path: ['run'],
      args: [],
      summary: 'run the daemon (default config: switch sw0, QEMU ports vm1-vm3)',
      options: {
        config: {
          type: 'string',
          value: 'FILE',
          help: 'the configuration file (vswitch config show writes one)',
          path: true,
        },
      },
      examples: ['vswitch run', 'vswitch run --config lab.json --api /tmp/lab.sock'],
      async run({ flags }) {
        // The handlers go in before the daemon starts: a SIGTERM that arrives while it starts (or right after
        // it printed that the API is up) is a shutdown, never the default kill.
        let signalled: string | null = null;
        let onSignal: (sig: string) => void = (sig) => (signalled ??= sig);
        process.once('SIGINT', () => onSignal('SIGINT'));
        process.once('SIGTERM', () => onSignal('SIGTERM'));
        const stop = await runDaemon({
          config: flags.config as string | undefined,
          api: flags.api as string | undefined,
        });
        await new Promise<void>((resolve) => {
          const shutdown = (sig: string) => {
            console.log(`vswitch: ${sig}, shutting down`);
            stop().then(resolve, (err) => {
              console.error(`vswitch: shutdown error: ${(err as Error).message}`);
              resolve();
            });
          };
          onSignal = shutdown;
          if (signalled !== null) shutdown(signalled);
        });
      },
    },
    {
      path: ['help'],
      args: [{ name: 'COMMAND', optional: true, variadic: true }],
      summary: "the list of commands, or one command's arguments, options and examples",
      examples: ['vswitch help port add', 'vswitch help fdb'],
      async run({ args, out }) {
        const text = helpFor(table(), args);
        if (text === undefined)
          throw new UsageError(
            `no command '${args.join(' ')}'. Run 'vswitch --help' for the list of commands.`,
            'COMMAND',
          );
        out(text);
      },
    },
    {
      path: ['completion'],
      args: [{ name: 'SHELL', complete: ['bash', 'zsh'] }],
      summary: 'a shell completion script: source <(vswitch completion bash)',
      examples: ['source <(vswitch completion bash)', 'vswitch completion zsh > ~/.zfunc/_vswitch'],
      async run({ args, out }) {
        if (args[0] === 'bash') out(bashScript());
        else if (args[0] === 'zsh') out(zshScript());
        else throw new UsageError(`completion for '${args[0]}' is not available; use bash or zsh`, 'SHELL');
      },
    },
  ];
}
