/** `vswitch capture ...`: write a port's frames to a pcap file, list and stop captures. */
import { captureRequest } from '../capture.js';
import type { CaptureStatus } from '../model.js';
import { table } from '../text-table.js';
import { num, ptSeg, swSeg, UsageError, type Command } from './command.js';
import { captureSummary, describeCapture } from './format.js';

const sw = { name: 'SW', complete: 'switch' } as const;
const port = { name: 'PORT', complete: 'port' } as const;

export const captureCommands: Command[] = [
  {
    path: ['capture'],
    args: [sw, port],
    summary: "write a port's frames to a pcap file (tshark -r FILE); waits for the limit or Ctrl-C",
    description:
      "Prints frames written and lost at the end. A relative -w name is a file in the daemon's capture directory (config captureDir, default <runtime dir>/captures); an existing file is refused unless --force, and a symlink is never followed.",
    options: {
      write: {
        type: 'string',
        short: 'w',
        value: 'FILE',
        help: "the pcap file to write (relative: in the daemon's capture directory)",
      },
      force: { type: 'boolean', help: 'replace an existing regular file' },
      direction: {
        type: 'string',
        value: 'DIR',
        help: 'frames the port receives (in), sends (out) or both',
        choices: ['in', 'out', 'both'],
      },
      count: { type: 'string', value: 'N', help: 'stop after N frames' },
      seconds: { type: 'string', value: 'S', help: 'stop after S seconds' },
      'no-wait': { type: 'boolean', help: "return at once; stop it with 'vswitch capture stop'" },
    },
    examples: ['vswitch capture sw0 vm1 -w vm1.pcap --count 100', 'vswitch capture sw0 vm1 -w /tmp/vm1.pcap --no-wait'],
    async run({ api, args, flags, json, print }) {
      if (flags.write === undefined)
        throw new UsageError(
          "capture needs the file to write: -w FILE (a pcap file, e.g. 'vswitch capture sw0 vm1 -w /tmp/vm1.pcap')",
          '-w',
        );
      const raw: Record<string, unknown> = { file: flags.write, direction: flags.direction ?? 'both' };
      if (flags.force) raw.force = true;
      if (flags.count !== undefined) raw.count = num(flags.count as string, '--count');
      if (flags.seconds !== undefined) raw.seconds = num(flags.seconds as string, '--seconds');
      const body = captureRequest(raw, 'capture');
      const path = `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}/capture`;
      const started = await api.call<CaptureStatus>('POST', path, body);
      if (flags['no-wait']) {
        print(`capturing ${describeCapture(started)}; stop with 'vswitch capture stop ${args[0]} ${args[1]}'`, started);
        return 0;
      }
      if (!json) process.stderr.write(`capturing ${describeCapture(started)}; Ctrl-C stops\n`);
      // Ctrl-C (or SIGTERM) stops the capture; the waiting request below then returns its summary
      const stop = () => void api.call('DELETE', path).catch(() => {});
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const r = await api.call<CaptureStatus>('GET', `${path}?wait=1`);
        print(captureSummary(r), r);
        return r.reason === 'error' ? 1 : 0;
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
    },
  },
  {
    path: ['capture', 'list'],
    args: [sw],
    summary: 'running captures: file, frames written and lost',
    async run({ api, args, print }) {
      const r = await api.call<CaptureStatus[]>('GET', `/switches/${swSeg(args[0])}/captures`);
      const rows = [['port', 'direction', 'file', 'written', 'lost', 'started', 'limit']];
      for (const c of r)
        rows.push([
          c.port,
          c.direction,
          c.file,
          String(c.framesWritten),
          String(c.captureLost),
          c.started,
          [c.count !== undefined ? `${c.count} frames` : '', c.seconds !== undefined ? `${c.seconds} s` : '']
            .filter(Boolean)
            .join(', ') || '-',
        ]);
      print(r.length ? table(rows) : 'no capture running', r);
    },
  },
  {
    path: ['capture', 'stop'],
    args: [sw, port],
    summary: 'stop a capture; prints frames written and lost',
    async run({ api, args, print }) {
      const r = await api.call<CaptureStatus>('DELETE', `/switches/${swSeg(args[0])}/ports/${ptSeg(args[1])}/capture`);
      print(captureSummary(r), r);
    },
  },
];
