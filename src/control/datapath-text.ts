/**
 * The datapath's rows as the API and CLI show them: MAC words as text, port indices as names, protocol
 * numbers as the names ACL rules use, flow addresses as IPv4 or IPv6 text. The workers answer with numbers
 * (engine/spec.ts FdbRow, FlowRow) and stay free of presentation; this is the one place that turns them
 * into words, on the control thread, once per request.
 */
import type { FdbRow, FlowRow } from '../engine/spec.js';
import { formatIpv4, formatIpv6 } from '../packet/ipaddr.js';
import { formatMacWords } from '../packet/mac.js';
import type { FdbEntry, FlowStatus } from './model.js';
import { kProtoNames } from './validate-policy.js';

/** A port the switch no longer has (removed while the request ran) shows as its index. */
const portName = (names: ReadonlyMap<number, string>, p: number) => names.get(p) ?? `#${p}`;

/** A flow address (4 words, IPv4 in word 0) as text. */
function addressText(family: number, words: number[]): string {
  if (family === 4) return formatIpv4(words[0]! >>> 0);
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  words.forEach((w, i) => v.setInt32(4 * i, w));
  return formatIpv6(b);
}

export function fdbEntries(rows: FdbRow[], names: ReadonlyMap<number, string>): FdbEntry[] {
  return rows.map((x) => ({
    mac: formatMacWords(x.hi, x.lo),
    vid: x.vid,
    port: portName(names, x.port),
    static: x.static,
    ageSeconds: x.ageSeconds,
  }));
}

export function flowStatuses(rows: FlowRow[], names: ReadonlyMap<number, string>): FlowStatus[] {
  return rows.map((f) => ({
    port: portName(names, f.port),
    protocol: String(kProtoNames[f.protocol] ?? f.protocol),
    local: addressText(f.family, f.local),
    remote: addressText(f.family, f.remote),
    localPort: f.localPort,
    remotePort: f.remotePort,
    idleSeconds: f.idleSeconds,
    timeoutSeconds: f.timeoutSeconds,
    rule: f.rule,
  }));
}
