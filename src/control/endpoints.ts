/**
 * Which ports share an endpoint. Two ports on one listen path, one UDP local address or one TAP name
 * cannot both work: the second bind fails or, worse, silently takes the first one's traffic. The
 * validator refuses such a config naming both fields, and the manager refuses a `port add` that would
 * clash with any running port of any switch, before anything is opened.
 *
 * Identity: unix paths compare resolved (the daemon's directory), IP hosts in their canonical spelling;
 * a wildcard listener (0.0.0.0, ::) clashes with every address of its family on the same port, as the
 * kernel's bind does. Port 0 (the kernel picks a free one) never clashes.
 */
import net from 'node:net';
import { resolve } from 'node:path';
import { canonicalHost } from '../ports/address.js';
import type { NicConfig } from './model.js';

/** What a NIC claims: the endpoint in words and the field of its NicConfig that names it. */
interface Claim {
  kind: 'unix-listen' | 'unix-connect' | 'tcp-listen' | 'tcp-connect' | 'udp' | 'tap';
  host?: string;
  port?: number;
  id: string;
  field: string;
  text: string;
}

const kDefaultHost = '127.0.0.1';

function claimOf(nic: NicConfig): Claim | null {
  switch (nic.type) {
    case 'tap':
      return { kind: 'tap', id: nic.name, field: 'name', text: `TAP name ${nic.name}` };
    case 'stream': {
      if (nic.path !== undefined) {
        const p = resolve(nic.path);
        return nic.mode === 'listen'
          ? { kind: 'unix-listen', id: p, field: 'path', text: `listen path ${p}` }
          : { kind: 'unix-connect', id: p, field: 'path', text: `connect path ${p}` };
      }
      if (nic.port === undefined || nic.port === 0) return null;
      const host = canonicalHost(nic.host ?? kDefaultHost);
      const where = `${net.isIPv6(host) ? `[${host}]` : host}:${nic.port}`;
      return nic.mode === 'listen'
        ? { kind: 'tcp-listen', host, port: nic.port, id: where, field: 'port', text: `TCP listen address ${where}` }
        : { kind: 'tcp-connect', host, port: nic.port, id: where, field: 'port', text: `TCP connect address ${where}` };
    }
    case 'dgram': {
      if (nic.localPort === 0) return null;
      const host = canonicalHost(
        nic.localHost ?? (nic.remoteHost && net.isIPv6(nic.remoteHost) ? '::1' : kDefaultHost),
      );
      const where = `${net.isIPv6(host) ? `[${host}]` : host}:${nic.localPort}`;
      return {
        kind: 'udp',
        host,
        port: nic.localPort,
        id: where,
        field: 'localPort',
        text: `UDP local address ${where}`,
      };
    }
    case 'memory':
    case 'vde': // made by the switch per VDE client, at a path of its own choosing
      return null;
  }
}

const isWildcard = (h: string) => h === '0.0.0.0' || h === '::';

function sameAddress(a: Claim, b: Claim): boolean {
  if (a.port !== b.port) return false;
  if (a.host === b.host) return true;
  // a wildcard bind takes the port on every address of its family (:: on both, as Linux binds it dual-stack)
  const fam = (h: string) => net.isIP(h);
  if (a.host === '::' || b.host === '::') return true;
  return (isWildcard(a.host!) || isWildcard(b.host!)) && fam(a.host!) === fam(b.host!);
}

/** The endpoint `a` and `b` both claim, in words ("listen path /run/x.sock"), or null. */
export function sharedEndpoint(a: NicConfig, b: NicConfig): { text: string; field: string } | null {
  const x = claimOf(a);
  const y = claimOf(b);
  if (!x || !y || x.kind !== y.kind) return null;
  const same = x.kind === 'tcp-listen' || x.kind === 'udp' ? sameAddress(x, y) : x.id === y.id;
  return same ? { text: x.text, field: x.field } : null;
}

/** The listen path of a NIC (resolved), for the checks against the API socket. */
export function listenPath(nic: NicConfig): string | null {
  return nic.type === 'stream' && nic.mode === 'listen' && nic.path !== undefined ? resolve(nic.path) : null;
}
