/**
 * A port's settings, declared once (key, range, default, help, flag of `port add`, runtime or fixed, an
 * example): the validator, the `port add` options, the config file keys, the API's POST body and the
 * schema all come from here. A new port setting is one entry here plus the code that uses it (the datapath
 * for its effect; a runtime route in api.ts if it changes on a running port).
 */
import { rssNeedsQueue } from '../validate-queues.js';
import { policySettings } from './policy.js';
import { portQueues } from './queues.js';
import { nic, kName, kNameHint } from './nic.js';
import { bool, int, mac, obj, oneOf, required, str, type Ctx } from './setting.js';
import { vlan } from './vlan.js';
import type { MinimumBandwidthMode } from '../model.js';

/** IP MTU bounds: 68 is IPv4's minimum; 9216 is the largest jumbo frame the default buffers hold. */
export const kMinMtu = 68;
export const kMaxMtu = 9216;
/** Port security: 0 (no limit) up to the largest MAC table (fdb.ts bounds its size to 1048576). */
export const kMaxMacLimit = 1 << 20;

/** QEMU's guest NIC models that can carry a -netdev (qemu-system-x86_64 -device help, network section). */
export const kQemuDevices = [
  'virtio-net-pci',
  'virtio-net-pci-non-transitional',
  'virtio-net-device',
  'e1000',
  'e1000e',
  'igb',
  'rtl8139',
  'ne2k_pci',
  'pcnet',
  'vmxnet3',
  'i82550',
  'i82551',
  'i82557b',
  'i82559er',
  'usb-net',
  'tulip',
] as const;

export const name = required(
  str({
    pattern: kName,
    hint: kNameHint,
    help: 'the port name (also used in file and interface names)',
    noCli: 'the PORT argument',
  }),
);

export const mtu = int({
  min: kMinMtu,
  max: kMaxMtu,
  help: 'IP MTU of the endpoint: frames longer than mtu + 14 (+4 per tag) are dropped at egress',
  default: 1500,
  example: 9000,
  cli: { flag: 'mtu', value: 'N' },
  runtime: { route: 'mtu', body: 'mtu', command: 'mtu', apply: 'setMtu', arg: 'MTU' },
});

export const macLimit = int({
  min: 0,
  max: kMaxMacLimit,
  help: 'port security: at most N learned MACs on the port (0: no limit); the excess is counted, not learned',
  default: 0,
  example: 4,
  cli: { flag: 'mac-limit', value: 'N' },
  runtime: { route: 'mac-limit', body: 'macLimit', command: 'mac-limit', apply: 'setMacLimit' },
});

/** A port's policy is checked against its switch's MinimumBandwidth mode (the context's `mode`, default weight). */
export const policy = {
  ...policySettings,
  check: (v: unknown, f: string, ctx?: Ctx) =>
    policySettings.check(v, f, { ...ctx, mode: (ctx?.mode as MinimumBandwidthMode | undefined) ?? 'weight' }),
  runtime: { route: 'policy', body: '', command: 'policy' },
};

export const qemu = obj(
  {
    device: oneOf(kQemuDevices, {
      help: 'the guest NIC model in the QEMU line (e1000 for old guests)',
      default: 'virtio-net-pci',
      example: 'e1000',
      cli: { flag: 'device', value: 'MODEL' },
    }),
    // QEMU's id_wellformed(): a letter, then letters, digits, '-', '.' or '_'
    id: str({
      pattern: /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
      hint: 'QEMU ids start with a letter, then up to 63 letters, digits, "-", "." or "_"',
      help: 'the QEMU -netdev id (default SW.PORT)',
      example: 'net7',
      cli: { flag: 'id', value: 'ID' },
    }),
  },
  { help: 'how a QEMU VM joins this port (the printed QEMU line; the datapath ignores it)' },
);

export const port = obj(
  {
    name,
    nic,
    vlan,
    mtu,
    macLimit,
    disconnected: bool({
      help: 'start with the link down (administratively disconnected)',
      default: false,
      example: true,
      cli: { flag: 'disconnected', help: 'start with the link down' },
      runtime: { route: 'disconnect', body: '', command: 'disconnect' },
    }),
    mac: mac({
      help: "the VM's MAC address: what MacAddressSpoofing checks, and the QEMU line's mac=",
      example: '52:54:00:aa:bb:cc',
      cli: { flag: 'mac', value: 'MAC' },
    }),
    policy,
    ...portQueues,
    qemu,
  },
  { check: (o, f) => rssNeedsQueue(o, f) },
);
