/**
 * `port add` and `port vlan` words and flags into validated config shapes: the endpoint flags (exactly one
 * of --tap, --listen, --listen-tcp, --connect, --connect-tcp, --dgram) into a NicConfig, and `access 10`,
 * `trunk 10,20 --native 30`, `private isolated 100 101` into a VlanConfig.
 */
import type { NicConfig, VlanConfig } from '../model.js';
import * as v from '../validate.js';
import { num, str, UsageError, type Flags } from './command.js';
import { kTcpAddress } from './parse.js';

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

/** `A:B:C` split at the colons outside brackets, brackets removed: `5000:[::1]:5001` -> 5000, ::1, 5001. */
function addressParts(text: string, what: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let bracket = false;
  for (const ch of text) {
    if (ch === '[' && !bracket && cur === '') bracket = true;
    else if (ch === ']' && bracket) bracket = false;
    else if (ch === ':' && !bracket) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (bracket) throw new UsageError(`${what}: '${text}' has an unclosed '['; write IPv6 addresses as [::1]`);
  parts.push(cur);
  return parts;
}

/** `PORT`, `HOST:PORT` or `[IPV6]:PORT`. */
function hostPort(text: string, what: string): { host?: string; port: number } {
  const parts = addressParts(text, what);
  if (parts.length > 2) throw new UsageError(`${what}: write an IPv6 address in brackets, e.g. [::1]:5555, got '${text}'`);
  return parts.length === 1 ? { port: num(parts[0], `${what} port`) } : { host: parts[0], port: num(parts[1], `${what} port`) };
}

export function nicFromFlags(f: Flags): NicConfig {
  const given = (['tap', 'listen', 'listen-tcp', 'connect', 'connect-tcp', 'dgram'] as const).filter((k) => f[k] !== undefined);
  if (given.length !== 1)
    throw new UsageError(`give exactly one endpoint: --tap IFNAME, --listen PATH|HOST:PORT, --listen-tcp [HOST:]PORT, --connect PATH|HOST:PORT, --connect-tcp HOST:PORT or --dgram [LHOST:]LPORT[:RHOST:RPORT]${given.length ? ` (got ${given.map((g) => '--' + g).join(', ')})` : ''}`);
  const framing = f.vde ? 'vde' : undefined;
  let raw: Record<string, unknown>;
  switch (given[0]) {
    case 'tap':
      raw = { type: 'tap', name: f.tap, ...(f.netns ? { netns: f.netns } : {}), ...(f['no-create'] ? { create: false } : {}), ...(f.offload ? { offload: true } : {}), ...(f['multi-queue'] ? { multiQueue: true } : {}) };
      break;
    case 'listen':
      raw = kTcpAddress.test(str(f, 'listen')!) ? { type: 'stream', mode: 'listen', ...hostPort(str(f, 'listen')!, '--listen') } : { type: 'stream', mode: 'listen', path: f.listen };
      break;
    case 'connect':
      raw = kTcpAddress.test(str(f, 'connect')!) ? { type: 'stream', mode: 'connect', ...hostPort(str(f, 'connect')!, '--connect') } : { type: 'stream', mode: 'connect', path: f.connect };
      break;
    case 'listen-tcp':
      raw = { type: 'stream', mode: 'listen', ...hostPort(str(f, 'listen-tcp')!, '--listen-tcp') };
      break;
    case 'connect-tcp': {
      const hp = hostPort(str(f, 'connect-tcp')!, '--connect-tcp');
      if (!hp.host) throw new UsageError('--connect-tcp needs HOST:PORT, e.g. 127.0.0.1:5555 or [::1]:5555');
      raw = { type: 'stream', mode: 'connect', ...hp };
      break;
    }
    case 'dgram': {
      // [LHOST:]LPORT[:RHOST:RPORT], IPv6 hosts in brackets: 5000, [::1]:5000, 5000:[::1]:5001, [::1]:5000:[::1]:5001
      const p = addressParts(str(f, 'dgram')!, '--dgram');
      if (p.length < 1 || p.length > 4)
        throw new UsageError(`--dgram takes [LHOST:]LPORT[:RHOST:RPORT] (IPv6 in brackets, e.g. 5000:[::1]:5001), got '${f.dgram}'`);
      const local = p.length === 2 || p.length === 4 ? p.slice(0, 2) : [undefined, p[0]];
      const remote = p.length >= 3 ? p.slice(-2) : null;
      raw = { type: 'dgram', localPort: num(local[1], '--dgram local port') };
      if (local[0] !== undefined) raw.localHost = local[0];
      if (remote) Object.assign(raw, { remoteHost: remote[0], remotePort: num(remote[1], '--dgram remote port') });
      break;
    }
  }
  if (framing) raw.framing = framing;
  return v.nicConfig(raw, 'nic');
}
