/**
 * `port add` and `port vlan` words and flags into validated config shapes: the endpoint flags (exactly one
 * of --tap, --listen, --listen-tcp, --connect, --connect-tcp, --dgram) into a NicConfig, and `access 10`,
 * `trunk 10,20 --native 30`, `private isolated 100 101` into a VlanConfig.
 */
import type { NicConfig, VlanConfig } from '../model.js';
import * as v from '../validate.js';
import { num, str, UsageError, type Flags } from './command.js';

function list(text: string): (number | string)[] {
  return text.split(',').filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
}

/** `access 10`, `trunk 10,20 --native 30`, `untagged` -> a validated VlanConfig. */
export function vlanFromArgs(args: string[], f: Flags): VlanConfig {
  const [mode, arg] = args;
  const raw: Record<string, unknown> = { mode };
  if (mode === 'access') raw.vid = num(arg, 'access VID');
  if (mode === 'private') {
    const [, pvlan, primary, secondary] = args;
    if (!pvlan || !primary || !secondary) throw new UsageError("private needs a mode, the primary and the secondary VLAN(s), e.g. 'private isolated 100 101'");
    Object.assign(raw, { pvlan, primary: num(primary, 'primary VID'), secondary: list(secondary) });
  }
  if (mode === 'trunk') {
    if (!arg) throw new UsageError("trunk needs the allowed VLANs, e.g. 'trunk 10,20,100-110'");
    raw.allowed = list(arg);
    if (f.native !== undefined) raw.native = num(str(f, 'native'), '--native');
    if (f.pruned !== undefined) raw.pruned = list(str(f, 'pruned')!);
  }
  return v.vlanConfig(raw, 'vlan');
}

function hostPort(text: string, what: string): { host?: string; port: number } {
  const i = text.lastIndexOf(':');
  return i < 0 ? { port: num(text, what) } : { host: text.slice(0, i), port: num(text.slice(i + 1), what) };
}

export function nicFromFlags(f: Flags): NicConfig {
  const given = (['tap', 'listen', 'listen-tcp', 'connect', 'connect-tcp', 'dgram'] as const).filter((k) => f[k] !== undefined);
  if (given.length !== 1)
    throw new UsageError(`give exactly one endpoint: --tap IFNAME, --listen PATH, --listen-tcp [HOST:]PORT, --connect PATH, --connect-tcp HOST:PORT or --dgram LPORT[:RHOST:RPORT]${given.length ? ` (got ${given.map((g) => '--' + g).join(', ')})` : ''}`);
  const framing = f.vde ? 'vde' : undefined;
  let raw: Record<string, unknown>;
  switch (given[0]) {
    case 'tap':
      raw = { type: 'tap', name: f.tap, ...(f.netns ? { netns: f.netns } : {}), ...(f['no-create'] ? { create: false } : {}), ...(f.offload ? { offload: true } : {}), ...(f['multi-queue'] ? { multiQueue: true } : {}) };
      break;
    case 'listen':
      raw = { type: 'stream', mode: 'listen', path: f.listen };
      break;
    case 'connect':
      raw = { type: 'stream', mode: 'connect', path: f.connect };
      break;
    case 'listen-tcp':
      raw = { type: 'stream', mode: 'listen', ...hostPort(str(f, 'listen-tcp')!, '--listen-tcp port') };
      break;
    case 'connect-tcp': {
      const hp = hostPort(str(f, 'connect-tcp')!, '--connect-tcp port');
      if (!hp.host) throw new UsageError('--connect-tcp needs HOST:PORT, e.g. 127.0.0.1:5555');
      raw = { type: 'stream', mode: 'connect', ...hp };
      break;
    }
    case 'dgram': {
      const parts = str(f, 'dgram')!.split(':');
      if (parts.length !== 1 && parts.length !== 3) throw new UsageError(`--dgram takes LPORT or LPORT:RHOST:RPORT, got '${f.dgram}'`);
      raw = { type: 'dgram', localPort: num(parts[0], '--dgram local port') };
      if (parts.length === 3) Object.assign(raw, { remoteHost: parts[1], remotePort: num(parts[2], '--dgram remote port') });
      break;
    }
  }
  if (framing) raw.framing = framing;
  return v.nicConfig(raw, 'nic');
}
