/**
 * Input validation for everything that reaches a switch from outside (config file, API body, CLI flags).
 * Each check is one `if` with one message that names the field, says what was wrong and what would be
 * right (the ws receiver style). Validation happens before any change is applied, so a refused change
 * leaves the running switch exactly as it was.
 */
import net from 'node:net';
import { resolve } from 'node:path';
import { listenPath, sharedEndpoint } from './endpoints.js';
import type { MinimumBandwidthMode, NicConfig, PortConfig, QemuNicConfig, StaticMac, SwitchConfig, SwitchType, VdeSwitchConfig, VlanConfig, VswitchConfig } from './model.js';
import { portPolicy, pvlanConfig } from './validate-policy.js';
import { kPortQueueKeys, kSwitchQueueKeys, validatePortQueues, validateSwitchQueues } from './validate-queues.js';
import { bool, fail, int, macText, obj, oneOf, onlyKeys, show, str, vid } from './validate-helpers.js';
export * from './validate-helpers.js';

/** Names of switches and ports: also used in file paths and interface names. */
const kName = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const kNameHint = 'use 1-32 letters, digits, ".", "_" or "-", starting with a letter or digit';
/** Linux interface names: at most 15 bytes (IFNAMSIZ 16 with the NUL). */
const kIfName = /^[A-Za-z0-9_.-]{1,15}$/;
const kIfHint = 'Linux interface names are 1-15 letters, digits, ".", "_" or "-"';

/** VLAN lists accept numbers and "a-b" ranges: [10, "20-29"]. */
export function vidList(v: unknown, field: string): number[] {
  if (!Array.isArray(v)) fail(field, `must be a list of VLAN IDs (1-4094) or "a-b" ranges, got ${show(v)}`);
  const out: number[] = [];
  (v as unknown[]).forEach((x, i) => {
    const f = `${field}[${i}]`;
    if (typeof x === 'string' && /^\d+-\d+$/.test(x)) {
      const [a, b] = x.split('-').map(Number);
      vid(a, f);
      vid(b, f);
      if (a > b) fail(f, `range ${x} is backwards; write it low-high`);
      for (let k = a; k <= b; k++) out.push(k);
    } else out.push(vid(typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x, f));
  });
  return [...new Set(out)].sort((a, b) => a - b);
}

export function vlanConfig(v: unknown, field: string): VlanConfig {
  const o = obj(v, field);
  const mode = oneOf(o.mode, `${field}.mode`, ['untagged', 'access', 'trunk', 'private'] as const);
  if (mode === 'private') return pvlanConfig(o, field);
  if (mode === 'untagged') {
    onlyKeys(o, field, ['mode']);
    return { mode };
  }
  if (mode === 'access') {
    onlyKeys(o, field, ['mode', 'vid']);
    return { mode, vid: vid(o.vid, `${field}.vid`) };
  }
  onlyKeys(o, field, ['mode', 'allowed', 'native', 'pruned']);
  const allowed = vidList(o.allowed, `${field}.allowed`);
  if (allowed.length === 0) fail(`${field}.allowed`, 'a trunk needs at least one allowed VLAN');
  const out: VlanConfig = { mode, allowed };
  if (o.native !== undefined) out.native = vid(o.native, `${field}.native`);
  if (o.pruned !== undefined) out.pruned = vidList(o.pruned, `${field}.pruned`);
  return out;
}

/** A DNS name (RFC 1123 labels), not an all-numeric one (that is a mistyped IPv4 address). */
const kHostName = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A host: an IPv4 or IPv6 address (no brackets) or, where names are allowed, a host name. */
export function host(v: unknown, field: string, names = true): string {
  const h = str(v, field);
  if (net.isIP(h)) return h;
  if (/^\[.*\]$/.test(h) && net.isIPv6(h.slice(1, -1))) fail(field, `write the IPv6 address without brackets here: ${show(h.slice(1, -1))}`);
  if (!names) fail(field, `${show(h)} is not an IP address; give one, e.g. 127.0.0.1 or ::1 (a dgram port compares each sender with it, so it cannot be a name)`);
  if (!kHostName.test(h) || /^[\d.]+$/.test(h)) fail(field, `${show(h)} is neither an IP address nor a host name; e.g. 127.0.0.1, ::1 or vm-host.example`);
  return h;
}

export function nicConfig(v: unknown, field: string): NicConfig {
  const o = obj(v, field);
  const type = oneOf(o.type, `${field}.type`, ['tap', 'stream', 'dgram', 'memory'] as const);
  switch (type) {
    case 'tap': {
      onlyKeys(o, field, ['type', 'name', 'create', 'netns', 'vnetHdr', 'multiQueue', 'offload']);
      const out: NicConfig = { type, name: str(o.name, `${field}.name`, kIfName, kIfHint) };
      if (o.create !== undefined) out.create = bool(o.create, `${field}.create`);
      if (o.netns !== undefined) out.netns = str(o.netns, `${field}.netns`, kName, kNameHint);
      if (o.vnetHdr !== undefined) out.vnetHdr = bool(o.vnetHdr, `${field}.vnetHdr`);
      if (o.multiQueue !== undefined) out.multiQueue = bool(o.multiQueue, `${field}.multiQueue`);
      if (o.offload !== undefined) out.offload = bool(o.offload, `${field}.offload`);
      return out;
    }
    case 'stream': {
      onlyKeys(o, field, ['type', 'mode', 'path', 'host', 'port', 'framing']);
      const mode = oneOf(o.mode, `${field}.mode`, ['listen', 'connect'] as const);
      const out: NicConfig = { type, mode };
      if (o.path !== undefined) out.path = str(o.path, `${field}.path`);
      if (o.host !== undefined) out.host = host(o.host, `${field}.host`);
      // port 0 on a listener asks the kernel for a free port (`vswitch port list` shows the one bound)
      if (o.port !== undefined) out.port = int(o.port, `${field}.port`, mode === 'listen' ? 0 : 1, 65535);
      if (o.framing !== undefined) out.framing = oneOf(o.framing, `${field}.framing`, ['qemu', 'vde'] as const);
      if ((out.path === undefined) === (out.port === undefined))
        fail(field, 'give either "path" (unix socket) or "port" (TCP, with optional "host"), not both or neither');
      return out;
    }
    case 'dgram': {
      onlyKeys(o, field, ['type', 'localHost', 'localPort', 'remoteHost', 'remotePort']);
      const out: NicConfig = { type, localPort: int(o.localPort, `${field}.localPort`, 0, 65535) };
      if (o.localHost !== undefined) out.localHost = host(o.localHost, `${field}.localHost`, false);
      if (o.remoteHost !== undefined) out.remoteHost = host(o.remoteHost, `${field}.remoteHost`, false);
      if (o.remotePort !== undefined) out.remotePort = int(o.remotePort, `${field}.remotePort`, 1, 65535);
      if (out.remoteHost !== undefined && out.remotePort === undefined) fail(`${field}.remotePort`, 'missing: a remoteHost needs its remotePort');
      if (out.localHost !== undefined && out.remoteHost !== undefined && net.isIP(out.localHost) !== net.isIP(out.remoteHost))
        fail(`${field}.remoteHost`, `${out.remoteHost} is IPv${net.isIP(out.remoteHost)} but localHost ${out.localHost} is IPv${net.isIP(out.localHost)}; use one family for both`);
      return out;
    }
    case 'memory':
      onlyKeys(o, field, ['type']);
      return { type };
  }
}

/** IP MTU bounds: 68 is IPv4's minimum; 9216 is the largest jumbo frame the default buffers hold. */
export const kMinMtu = 68;
export const kMaxMtu = 9216;

export function mtu(v: unknown, field: string): number {
  return int(v, field, kMinMtu, kMaxMtu);
}

/** Port security: 0 (no limit) up to the largest MAC table (fdb.ts bounds its size to 1048576). */
export const kMaxMacLimit = 1 << 20;

export function macLimit(v: unknown, field: string): number {
  return int(v, field, 0, kMaxMacLimit);
}

/** A port; `mode` is its switch's MinimumBandwidth mode (policy validation depends on it). */
export function portConfig(v: unknown, field: string, mode: MinimumBandwidthMode = 'weight'): PortConfig {
  const o = obj(v, field);
  onlyKeys(o, field, ['name', 'nic', 'vlan', 'mtu', 'macLimit', 'disconnected', 'mac', 'policy', ...kPortQueueKeys, 'qemu']);
  const out: PortConfig = { name: portName(o.name, `${field}.name`), nic: nicConfig(o.nic, `${field}.nic`) };
  if (o.vlan !== undefined) out.vlan = vlanConfig(o.vlan, `${field}.vlan`);
  if (o.mtu !== undefined) out.mtu = mtu(o.mtu, `${field}.mtu`);
  if (o.macLimit !== undefined) out.macLimit = macLimit(o.macLimit, `${field}.macLimit`);
  if (o.disconnected !== undefined) out.disconnected = bool(o.disconnected, `${field}.disconnected`);
  if (o.mac !== undefined) out.mac = macText(o.mac, `${field}.mac`);
  if (o.policy !== undefined) out.policy = portPolicy(o.policy, `${field}.policy`, mode);
  Object.assign(out, validatePortQueues(o, field));
  if (o.qemu !== undefined) out.qemu = qemuNicConfig(o.qemu, `${field}.qemu`);
  return out;
}

/** QEMU's guest NIC models that can carry a -netdev (qemu-system-x86_64 -device help, network section). */
export const kQemuDevices = ['virtio-net-pci', 'virtio-net-pci-non-transitional', 'virtio-net-device', 'e1000', 'e1000e', 'igb', 'rtl8139', 'ne2k_pci', 'pcnet', 'vmxnet3', 'i82550', 'i82551', 'i82557b', 'i82559er', 'usb-net', 'tulip'] as const;

export function qemuNicConfig(v: unknown, field: string): QemuNicConfig {
  const o = obj(v, field);
  onlyKeys(o, field, ['device', 'id']);
  const out: QemuNicConfig = {};
  if (o.device !== undefined) out.device = oneOf(o.device, `${field}.device`, kQemuDevices);
  // QEMU's id_wellformed(): a letter, then letters, digits, '-', '.' or '_'
  if (o.id !== undefined) out.id = str(o.id, `${field}.id`, /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'QEMU ids start with a letter, then up to 63 letters, digits, "-", "." or "_"');
  return out;
}

export function portName(v: unknown, field: string): string {
  return str(v, field, kName, kNameHint);
}

export function switchName(v: unknown, field: string): string {
  return str(v, field, kName, kNameHint);
}

export function staticMac(v: unknown, field: string): StaticMac {
  const o = obj(v, field);
  onlyKeys(o, field, ['mac', 'vid', 'port']);
  const mac = macText(o.mac, `${field}.mac`);
  if (parseInt(mac.slice(0, 2), 16) & 1) fail(`${field}.mac`, `${mac} is a group (multicast) address; static entries need a unicast MAC`);
  return { mac, vid: vid(o.vid ?? 1, `${field}.vid`), port: portName(o.port, `${field}.port`) };
}

/** MAC table size: the bounds of switch/fdb.ts (a million entries is 16 MB of table). */
export function macTableSize(v: unknown, field: string): number {
  return int(v, field, 1, 1 << 20);
}

/** MAC aging: 0 disables; at most a day (a larger value is almost certainly a unit mistake). */
export function agingSeconds(v: unknown, field: string): number {
  return int(v, field, 0, 86400);
}

export function switchConfig(v: unknown, field: string): SwitchConfig {
  const o = obj(v, field);
  onlyKeys(o, field, ['name', 'type', 'agingSeconds', 'macTableSize', 'rsc', 'minimumBandwidthMode', 'flowTableSize', ...kSwitchQueueKeys, 'ports', 'staticMacs', 'vdeSwitch']);
  const out: SwitchConfig = { name: switchName(o.name, `${field}.name`) };
  out.type = o.type === undefined ? 'private' : oneOf<SwitchType>(o.type, `${field}.type`, ['private', 'internal', 'external']);
  if (o.agingSeconds !== undefined) out.agingSeconds = agingSeconds(o.agingSeconds, `${field}.agingSeconds`);
  if (o.macTableSize !== undefined) out.macTableSize = macTableSize(o.macTableSize, `${field}.macTableSize`);
  if (o.rsc !== undefined) out.rsc = bool(o.rsc, `${field}.rsc`);
  if (o.minimumBandwidthMode !== undefined) out.minimumBandwidthMode = oneOf(o.minimumBandwidthMode, `${field}.minimumBandwidthMode`, ['weight', 'absolute'] as const);
  if (o.flowTableSize !== undefined) out.flowTableSize = int(o.flowTableSize, `${field}.flowTableSize`, 16, 1 << 22);
  Object.assign(out, validateSwitchQueues(o, field));
  const ports = o.ports === undefined ? [] : o.ports;
  if (!Array.isArray(ports)) fail(`${field}.ports`, 'must be a list of ports');
  out.ports = (ports as unknown[]).map((p, i) => portConfig(p, `${field}.ports[${i}]`, out.minimumBandwidthMode ?? 'weight'));
  const seen = new Set<string>();
  out.ports.forEach((p, i) => {
    if (seen.has(p.name)) fail(`${field}.ports[${i}].name`, `port name '${p.name}' is used twice in this switch`);
    seen.add(p.name);
  });
  uniqueEndpoints(out.ports.map((p, i) => ({ port: p, field: `${field}.ports[${i}]` })));
  const statics = o.staticMacs === undefined ? [] : o.staticMacs;
  if (!Array.isArray(statics)) fail(`${field}.staticMacs`, 'must be a list of {mac, vid, port}');
  out.staticMacs = (statics as unknown[]).map((s, i) => staticMac(s, `${field}.staticMacs[${i}]`));
  out.staticMacs.forEach((s, i) => {
    if (!seen.has(s.port)) fail(`${field}.staticMacs[${i}].port`, `no port named '${s.port}' in this switch`);
  });
  if (o.vdeSwitch !== undefined) out.vdeSwitch = vdeSwitchConfig(o.vdeSwitch, `${field}.vdeSwitch`, out.minimumBandwidthMode ?? 'weight');
  return out;
}

/** DIR/ctl and DIR/<n> must fit sun_path (108 bytes with its NUL). */
const kMaxVdeDir = 96;

export function vdeSwitchConfig(v: unknown, field: string, mode: MinimumBandwidthMode): VdeSwitchConfig {
  const o = obj(v, field);
  onlyKeys(o, field, ['dir', 'prefix', 'maxClients', 'vlan', 'mtu', 'policy']);
  const dir = str(o.dir, `${field}.dir`);
  if (!dir.startsWith('/')) fail(`${field}.dir`, `must be an absolute path (the CLI resolves a relative one), got ${JSON.stringify(dir)}`);
  if (Buffer.byteLength(dir) > kMaxVdeDir) fail(`${field}.dir`, `must be at most ${kMaxVdeDir} bytes (its sockets must fit a unix socket address), got ${Buffer.byteLength(dir)}`);
  const out: VdeSwitchConfig = { dir: dir.replace(/\/+$/, '') || '/' };
  if (o.prefix !== undefined) out.prefix = str(o.prefix, `${field}.prefix`, /^[A-Za-z][A-Za-z0-9_.-]{0,23}$/, 'use 1-24 letters, digits, ".", "_" or "-", starting with a letter (client ports are PREFIX<n>)');
  if (o.maxClients !== undefined) out.maxClients = int(o.maxClients, `${field}.maxClients`, 1, 1024);
  if (o.vlan !== undefined) out.vlan = vlanConfig(o.vlan, `${field}.vlan`);
  if (o.mtu !== undefined) out.mtu = mtu(o.mtu, `${field}.mtu`);
  if (o.policy !== undefined) out.policy = portPolicy(o.policy, `${field}.policy`, mode);
  return out;
}

export function vswitchConfig(v: unknown): VswitchConfig {
  const o = obj(v, 'config');
  onlyKeys(o, 'config', ['api', 'captureDir', 'switches']);
  const out: VswitchConfig = { switches: [] };
  if (o.api !== undefined) out.api = str(o.api, 'config.api');
  if (o.captureDir !== undefined) out.captureDir = str(o.captureDir, 'config.captureDir');
  if (!Array.isArray(o.switches)) fail('config.switches', 'must be a list of switches');
  out.switches = (o.switches as unknown[]).map((s, i) => switchConfig(s, `config.switches[${i}]`));
  const names = new Set<string>();
  out.switches.forEach((s, i) => {
    if (names.has(s.name)) fail(`config.switches[${i}].name`, `switch name '${s.name}' is used twice`);
    names.add(s.name);
  });
  const all = out.switches.flatMap((s, i) => (s.ports ?? []).map((p, j) => ({ port: p, field: `config.switches[${i}].ports[${j}]` })));
  uniqueEndpoints(all);
  if (out.api !== undefined) {
    const api = resolve(out.api);
    const clash = all.find((x) => listenPath(x.port.nic) === api);
    if (clash) fail(`${clash.field}.nic.path`, `${api} is the management API's socket (config.api); give the port another path`);
  }
  return out;
}

/** Refuse two ports claiming one endpoint (endpoints.ts), naming both fields. */
export function uniqueEndpoints(ports: Array<{ port: PortConfig; field: string }>): void {
  for (let i = 1; i < ports.length; i++) {
    for (let j = 0; j < i; j++) {
      const shared = sharedEndpoint(ports[i]!.port.nic, ports[j]!.port.nic);
      if (shared)
        fail(
          `${ports[i]!.field}.nic.${shared.field}`,
          `${shared.text} is already the endpoint of port '${ports[j]!.port.name}' (${ports[j]!.field}.nic.${shared.field}); an endpoint belongs to one port: choose another`,
        );
    }
  }
}
