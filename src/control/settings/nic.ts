/**
 * The endpoint plugged into a port (a NicConfig), declared once: a TAP device, a stream socket (unix or
 * TCP, listening or dialling), a UDP datagram pair, or memory (tests), with each field's range, help and
 * flag, and the endpoint flags of `port add` (exactly one of --tap, --listen, --listen-tcp, --connect,
 * --connect-tcp, --dgram) that choose the kind and its address. Cross-field rules (a stream has a path or
 * a port, a dgram port one address family) are the variants' `check` hooks.
 */
import net from 'node:net';
import { fail, show, str as strCheck } from '../validate-helpers.js';
import { num, UsageError } from '../cli/typed.js';
import { readFlags } from './cli.js';
import {
  bool,
  custom,
  int,
  lit,
  obj,
  oneOf,
  required,
  str,
  variant,
  type Flags,
  type FlagSpec,
  type Setting,
} from './setting.js';

/** Names of switches, ports and namespaces: also used in file paths and interface names. */
export const kName = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
export const kNameHint = 'use 1-32 letters, digits, ".", "_" or "-", starting with a letter or digit';
/** Linux interface names: at most 15 bytes (IFNAMSIZ 16 with the NUL). */
const kIfName = /^[A-Za-z0-9_.-]{1,15}$/;
const kIfHint = 'Linux interface names are 1-15 letters, digits, ".", "_" or "-"';

/** A DNS name (RFC 1123 labels), not an all-numeric one (that is a mistyped IPv4 address). */
const kHostName =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A host: an IPv4 or IPv6 address (no brackets) or, where names are allowed, a host name. */
export function host(v: unknown, field: string, names = true): string {
  const h = strCheck(v, field);
  if (net.isIP(h)) return h;
  if (/^\[.*\]$/.test(h) && net.isIPv6(h.slice(1, -1)))
    fail(field, `write the IPv6 address without brackets here: ${show(h.slice(1, -1))}`);
  if (!names)
    fail(
      field,
      `${show(h)} is not an IP address; give one, e.g. 127.0.0.1 or ::1 (a dgram port compares each sender with it, so it cannot be a name)`,
    );
  if (!kHostName.test(h) || /^[\d.]+$/.test(h))
    fail(field, `${show(h)} is neither an IP address nor a host name; e.g. 127.0.0.1, ::1 or vm-host.example`);
  return h;
}

const hostSetting = (names: boolean, help: string) =>
  custom({ check: (v, f) => host(v, f, names), schema: { type: 'string', minLength: 1 }, kind: 'host', help });
const udpPort = (min: number, help: string) => int({ min, max: 65535, help });

const tap = obj(
  {
    type: lit('tap'),
    name: required(str({ pattern: kIfName, hint: kIfHint, help: 'the TAP interface name' })),
    create: bool({
      help: 'create the device (false: attach to an existing one)',
      default: true,
      example: false,
      cli: { flag: 'no-create', sets: false, help: 'TAP: attach to an existing device' },
    }),
    netns: str({
      pattern: kName,
      hint: kNameHint,
      help: 'the network namespace to put the TAP in',
      example: '@NS',
      cli: { flag: 'netns', value: 'NS', help: 'TAP: the network namespace to put it in' },
    }),
    vnetHdr: bool({
      help: 'exchange a virtio_net_hdr with the kernel (offload metadata) without asking for offloads',
      default: false,
      example: true,
      cli: { flag: 'vnet-hdr', help: 'TAP: virtio_net_hdr on every frame, no offloads asked' },
    }),
    multiQueue: bool({
      help: 'one kernel queue per worker (IFF_MULTI_QUEUE)',
      default: false,
      example: true,
      cli: { flag: 'multi-queue', help: 'TAP: one kernel queue per worker' },
    }),
    offload: bool({
      help: 'virtio_net_hdr offloads (GSO, checksum) with the kernel',
      default: false,
      example: true,
      cli: { flag: 'offload', help: 'TAP: virtio_net_hdr offloads (GSO, checksum)' },
    }),
  },
  { examples: [{ value: { type: 'tap', name: '@IF' }, argv: ['--tap', '@IF'] }] },
);

const stream = obj(
  {
    type: lit('stream'),
    mode: required(
      oneOf(['listen', 'connect'], {
        help: 'listen: the switch listens (QEMU server=off); connect: the switch dials (QEMU server=on)',
      }),
    ),
    path: str({ help: 'a unix socket path (absolute over the API)' }),
    host: hostSetting(true, 'the TCP host (an IP address, or a name where the switch dials)'),
    // port 0 on a listener asks the kernel for a free port (`vswitch port list` shows the one bound)
    port: udpPort(0, 'the TCP port (0 on a listener: the kernel picks one)'),
    framing: oneOf(['qemu', 'vde'], {
      help: "how frames are delimited: QEMU's length prefix or vde_plug's",
      default: 'qemu',
      example: 'vde',
      cli: { flag: 'vde', sets: 'vde', help: "stream ports: VDE framing (vde_plug) instead of QEMU's" },
    }),
  },
  {
    check: (o, f) => {
      if (o.mode === 'connect' && o.port === 0) fail(`${f}.port`, 'must be an integer from 1 to 65535, got 0');
      if ((o.path === undefined) === (o.port === undefined))
        fail(f, 'give either "path" (unix socket) or "port" (TCP, with optional "host"), not both or neither');
    },
    examples: [
      { value: { type: 'stream', mode: 'listen', path: '@DIR/s@N.sock' }, argv: ['--listen', '@DIR/s@N.sock'] },
      { value: { type: 'stream', mode: 'listen', host: '127.0.0.1', port: 0 }, argv: ['--listen-tcp', '127.0.0.1:0'] },
    ],
  },
);

const dgram = obj(
  {
    type: lit('dgram'),
    localHost: hostSetting(false, 'the local address (default 127.0.0.1)'),
    localPort: required(udpPort(0, 'the local UDP port (0: the kernel picks one)')),
    remoteHost: hostSetting(false, "the peer's address: only its datagrams are taken"),
    remotePort: udpPort(1, "the peer's UDP port"),
  },
  {
    check: (o, f) => {
      if (o.remoteHost !== undefined && o.remotePort === undefined)
        fail(`${f}.remotePort`, 'missing: a remoteHost needs its remotePort');
      if (o.localHost !== undefined && o.remoteHost !== undefined && net.isIP(o.localHost) !== net.isIP(o.remoteHost))
        fail(
          `${f}.remoteHost`,
          `${o.remoteHost} is IPv${net.isIP(o.remoteHost)} but localHost ${o.localHost} is IPv${net.isIP(o.localHost)}; use one family for both`,
        );
    },
    examples: [
      {
        value: { type: 'dgram', localHost: '127.0.0.1', localPort: 0, remoteHost: '127.0.0.1', remotePort: 9 },
        argv: ['--dgram', '127.0.0.1:0:127.0.0.1:9'],
      },
    ],
  },
);

// no examples: the daemon refuses it (it exists only inside a test process), so no channel walks it
const memory = obj({ type: lit('memory') }, { noCli: 'an in-process endpoint for tests, refused by the daemon' });

/** `HOST:PORT` or `[IPV6]:PORT` (no '/' and a numeric port): a TCP address, not a unix path. */
export const kTcpAddress = /^(\[[^\]/]+\]|[^/:[\]]+):\d+$/;

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
  if (parts.length > 2)
    throw new UsageError(`${what}: write an IPv6 address in brackets, e.g. [::1]:5555, got '${text}'`);
  return parts.length === 1
    ? { port: num(parts[0], `${what} port`) }
    : { host: parts[0], port: num(parts[1], `${what} port`) };
}

/** [LHOST:]LPORT[:RHOST:RPORT], IPv6 hosts in brackets: 5000, [::1]:5000, 5000:[::1]:5001, [::1]:5000:[::1]:5001 */
function dgramAddress(text: string): Record<string, unknown> {
  const p = addressParts(text, '--dgram');
  if (p.length < 1 || p.length > 4)
    throw new UsageError(
      `--dgram takes [LHOST:]LPORT[:RHOST:RPORT] (IPv6 in brackets, e.g. 5000:[::1]:5001), got '${text}'`,
    );
  const local = p.length === 2 || p.length === 4 ? p.slice(0, 2) : [undefined, p[0]];
  const remote = p.length >= 3 ? p.slice(-2) : null;
  const raw: Record<string, unknown> = { type: 'dgram', localPort: num(local[1], '--dgram local port') };
  if (local[0] !== undefined) raw.localHost = local[0];
  if (remote) Object.assign(raw, { remoteHost: remote[0], remotePort: num(remote[1], '--dgram remote port') });
  return raw;
}

/** The endpoint flags: each chooses the kind and gives its address. */
const kEndpoints: Record<string, { option: FlagSpec; raw: (text: string) => Record<string, unknown> }> = {
  tap: {
    option: { type: 'string', value: 'IFNAME', help: 'a TAP device (created unless --no-create)' },
    raw: (t) => ({ type: 'tap', name: t }),
  },
  listen: {
    option: {
      type: 'string',
      value: 'PATH',
      help: 'a unix socket the switch listens on (QEMU: server=off)',
      path: true,
    },
    raw: (t) =>
      kTcpAddress.test(t)
        ? { type: 'stream', mode: 'listen', ...hostPort(t, '--listen') }
        : { type: 'stream', mode: 'listen', path: t },
  },
  'listen-tcp': {
    option: { type: 'string', value: '[HOST:]PORT', help: 'a TCP port the switch listens on' },
    raw: (t) => ({ type: 'stream', mode: 'listen', ...hostPort(t, '--listen-tcp') }),
  },
  connect: {
    option: {
      type: 'string',
      value: 'PATH',
      help: 'a unix socket QEMU listens on (server=on); the switch re-dials',
      path: true,
    },
    raw: (t) =>
      kTcpAddress.test(t)
        ? { type: 'stream', mode: 'connect', ...hostPort(t, '--connect') }
        : { type: 'stream', mode: 'connect', path: t },
  },
  'connect-tcp': {
    option: { type: 'string', value: 'HOST:PORT', help: 'a TCP address QEMU listens on' },
    raw: (t) => {
      const hp = hostPort(t, '--connect-tcp');
      if (!hp.host) throw new UsageError('--connect-tcp needs HOST:PORT, e.g. 127.0.0.1:5555 or [::1]:5555');
      return { type: 'stream', mode: 'connect', ...hp };
    },
  },
  dgram: {
    option: { type: 'string', value: 'LPORT[:RHOST:RPORT]', help: 'UDP: one frame per datagram (QEMU -netdev dgram)' },
    raw: dgramAddress,
  },
};

const kinds = { tap, stream, dgram, memory } as const;

/** The endpoint flags given -> the raw NicConfig: the kind's address plus its own flags (--netns, --vde...). */
function readEndpoint(f: Flags): Record<string, unknown> {
  const given = Object.keys(kEndpoints).filter((k) => f[k] !== undefined);
  if (given.length !== 1)
    throw new UsageError(
      `give exactly one endpoint: --tap IFNAME, --listen PATH|HOST:PORT, --listen-tcp [HOST:]PORT, --connect PATH|HOST:PORT, --connect-tcp HOST:PORT or --dgram [LHOST:]LPORT[:RHOST:RPORT]${given.length ? ` (got ${given.map((g) => '--' + g).join(', ')})` : ''}`,
    );
  const raw = kEndpoints[given[0]!]!.raw(f[given[0]!] as string);
  const kind = kinds[raw.type as keyof typeof kinds] as Setting;
  // a flag of another kind (--netns on a unix socket) is refused, not ignored
  for (const [name, other] of Object.entries(kinds))
    if (name !== raw.type)
      for (const c of Object.values(other.fields ?? {}))
        if (
          c.cli?.flag &&
          f[c.cli.flag] !== undefined &&
          !Object.values(kind.fields ?? {}).some((m) => m.cli?.flag === c.cli!.flag)
        )
          throw new UsageError(`--${c.cli.flag} is for ${name} ports, not for --${given[0]}`, `--${c.cli.flag}`);
  return { ...raw, ...readFlags(kind, f) };
}

export const nic = required(
  variant('type', kinds, {
    help: 'the endpoint: tap, stream (unix or TCP socket), dgram (UDP) or memory (tests)',
    cli: {
      group: {
        options: Object.fromEntries(Object.entries(kEndpoints).map(([k, e]) => [k, e.option])),
        read: readEndpoint,
      },
    },
  }),
);
