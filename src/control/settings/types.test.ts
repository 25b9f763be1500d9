/**
 * The declarations and the model's types agree: the type each declaration infers (Infer) is the model's
 * (engine/spec.ts, policy/config.ts, queues/queue-spec.ts), both ways, so a key added to one and not the
 * other fails the build. The checks are compile-time; the test only records that they ran.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  NicConfig,
  PortConfig,
  QemuNicConfig,
  StaticMac,
  SwitchConfig,
  VdeSwitchConfig,
  VlanConfig,
  VswitchConfig,
} from '../model.js';
import type { nic } from './nic.js';
import type { port, qemu } from './port.js';
import type { Infer } from './setting.js';
import type { staticMac, switchSettings, vdeSwitch, vswitchSettings } from './switch.js';
import type { vlan } from './vlan.js';

/** True when A and B are assignable to each other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** True when every A is a B and both have the same keys (a declaration may be narrower: an enum of QEMU
 *  devices where the model says string). */
type Agrees<A, B> = [A] extends [B] ? Same<keyof A, keyof B> : false;

/** What a user may write: the datapath's `vde` NIC (made for VDE clients) and `pad` are internal. */
type UserNic = Exclude<NicConfig, { type: 'vde' }>;
type UserPort = Omit<PortConfig, 'pad' | 'nic'> & { nic: UserNic };
type UserSwitch = Omit<SwitchConfig, 'ports'> & { ports?: UserPort[] };

// compile-time: each line fails the build when a declaration and its model type part
const checks = {
  vlan: true satisfies Same<Infer<typeof vlan>, VlanConfig>,
  nic: true satisfies Same<Infer<typeof nic>, UserNic>,
  qemu: true satisfies Agrees<Infer<typeof qemu>, QemuNicConfig>,
  port: true satisfies Agrees<Infer<typeof port>, UserPort>,
  staticMac: true satisfies Same<Infer<typeof staticMac>, StaticMac>,
  vdeSwitch: true satisfies Agrees<Infer<typeof vdeSwitch>, VdeSwitchConfig>,
  switch: true satisfies Agrees<Infer<typeof switchSettings>, UserSwitch>,
  config: true satisfies Agrees<
    Infer<typeof vswitchSettings>,
    Omit<VswitchConfig, 'switches'> & { switches: UserSwitch[] }
  >,
};

test('every declaration infers the model type it validates (checked when compiled)', () => {
  assert.ok(Object.values(checks).every(Boolean));
});
