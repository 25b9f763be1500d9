/** `vswitch fdb ...`: the MAC table (show, filtered by port or VLAN), flush, static entries. */
import type { FdbEntry, StaticMac } from '../model.js';
import { table } from '../text-table.js';
import * as v from '../validate.js';
import { num, ptSeg, swSeg, type Command } from './command.js';

const sw = { name: 'SW', complete: 'switch' } as const;

export const fdbCommands: Command[] = [
  {
    path: ['fdb', 'show'],
    args: [sw],
    summary: 'the MAC table: VLAN, MAC, port, static or learned, age',
    options: {
      port: { type: 'string', value: 'PORT', help: 'only entries on this port' },
      vlan: { type: 'string', value: 'VID', help: 'only entries in this VLAN' },
    },
    async run({ api, args, flags, print }) {
      let r = await api.call<FdbEntry[]>('GET', `/switches/${swSeg(args[0])}/fdb`);
      if (flags.port !== undefined) r = r.filter((e) => e.port === v.portName(flags.port, '--port'));
      if (flags.vlan !== undefined) {
        const vid = v.vid(num(flags.vlan as string, '--vlan'), '--vlan');
        r = r.filter((e) => e.vid === vid);
      }
      r.sort((a, b) => a.vid - b.vid || a.mac.localeCompare(b.mac));
      print(
        table([
          ['vlan', 'mac', 'port', 'type', 'age'],
          ...r.map((e) => [
            String(e.vid),
            e.mac,
            e.port,
            e.static ? 'static' : 'learned',
            e.static ? '-' : `${e.ageSeconds}s`,
          ]),
        ]),
        r,
      );
    },
  },
  {
    path: ['fdb', 'flush'],
    args: [sw],
    summary: 'forget learned entries (static ones stay)',
    options: { port: { type: 'string', value: 'PORT', help: 'only entries learned on this port' } },
    async run({ api, args, flags, print }) {
      const q = flags.port !== undefined ? `?port=${ptSeg(flags.port as string)}` : '';
      const r = await api.call<{ flushed: number }>('DELETE', `/switches/${swSeg(args[0])}/fdb${q}`);
      print(`${r.flushed} entries flushed`, r);
    },
  },
  {
    path: ['fdb', 'add'],
    args: [sw, { name: 'MAC' }, { name: 'VID' }, { name: 'PORT', complete: 'port' }],
    summary: 'a static entry (never learned over, never aged; kept in the config)',
    examples: ['vswitch fdb add sw0 52:54:00:aa:bb:cc 10 vm1'],
    async run({ api, args, print }) {
      const e = v.staticMac({ mac: args[1], vid: num(args[2], 'VID'), port: args[3] }, 'entry');
      const r = await api.call<StaticMac>('POST', `/switches/${swSeg(args[0])}/fdb`, e);
      print(`static ${r.mac} vlan ${r.vid} -> ${r.port}`, r);
    },
  },
  {
    path: ['fdb', 'del'],
    args: [sw, { name: 'MAC' }, { name: 'VID' }],
    summary: 'remove one entry, static or learned',
    async run({ api, args, print }) {
      const mac = v.macText(args[1], 'MAC');
      const r = await api.call(
        'DELETE',
        `/switches/${swSeg(args[0])}/fdb/${v.vid(num(args[2], 'VID'), 'VID')}/${encodeURIComponent(mac)}`,
      );
      print(`removed ${mac} vlan ${args[2]}`, r);
    },
  },
];
