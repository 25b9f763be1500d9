/**
 * Input validation for everything that reaches a switch from outside (config file, API body, CLI flags),
 * by the declarations of settings/ (one per setting: key, range, default, help, flag); this file names the
 * entry points the rest of control/ calls. Each refusal names the field, says what was wrong and what
 * would be right. Validation happens before any change is applied, so a refused change leaves the running
 * switch exactly as it was.
 */
import type {
  MinimumBandwidthMode,
  NicConfig,
  PortConfig,
  QemuNicConfig,
  StaticMac,
  SwitchConfig,
  VdeSwitchConfig,
  VlanConfig,
  VswitchConfig,
} from './model.js';
import { nic } from './settings/nic.js';
import {
  macLimit as macLimitSetting,
  mtu as mtuSetting,
  name as portNameSetting,
  port,
  qemu,
} from './settings/port.js';
import {
  agingSeconds as agingSetting,
  macTableSize as macTableSizeSetting,
  name as switchNameSetting,
  staticMac as staticMacSetting,
  switchSettings,
  vdeSwitch,
  vswitchSettings,
} from './settings/switch.js';
import { vidList as vidListSetting } from './settings/setting.js';
import { vlan } from './settings/vlan.js';
export * from './validate-helpers.js';
export { host } from './settings/nic.js';
export { kMaxMacLimit, kMaxMtu, kMinMtu, kQemuDevices } from './settings/port.js';
export { uniqueEndpoints } from './settings/switch.js';

const vids = vidListSetting();
export const vidList = (v: unknown, field: string): number[] => vids.check(v, field);
export const vlanConfig = (v: unknown, field: string): VlanConfig => vlan.check(v, field) as VlanConfig;
export const nicConfig = (v: unknown, field: string): NicConfig => nic.check(v, field);
export const mtu = (v: unknown, field: string): number => mtuSetting.check(v, field);
export const macLimit = (v: unknown, field: string): number => macLimitSetting.check(v, field);
/** A port; `mode` is its switch's MinimumBandwidth mode (policy validation depends on it). */
export const portConfig = (v: unknown, field: string, mode: MinimumBandwidthMode = 'weight'): PortConfig =>
  port.check(v, field, { mode }) as PortConfig;
export const qemuNicConfig = (v: unknown, field: string): QemuNicConfig => qemu.check(v, field);
export const portName = (v: unknown, field: string): string => portNameSetting.check(v, field);
export const switchName = (v: unknown, field: string): string => switchNameSetting.check(v, field);
export const staticMac = (v: unknown, field: string): StaticMac => staticMacSetting.check(v, field) as StaticMac;
export const macTableSize = (v: unknown, field: string): number => macTableSizeSetting.check(v, field);
export const agingSeconds = (v: unknown, field: string): number => agingSetting.check(v, field);
export const switchConfig = (v: unknown, field: string): SwitchConfig => switchSettings.check(v, field) as SwitchConfig;
export const vdeSwitchConfig = (v: unknown, field: string, mode: MinimumBandwidthMode): VdeSwitchConfig =>
  vdeSwitch.check(v, field, { mode }) as VdeSwitchConfig;
export const vswitchConfig = (v: unknown): VswitchConfig => vswitchSettings.check(v, 'config') as VswitchConfig;
