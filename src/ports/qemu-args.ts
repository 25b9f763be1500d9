/**
 * Helpers shared by the QEMU `-netdev` recipes of the stream and dgram endpoints (their
 * `qemuNetdevArg`/`qemuDgramNetdevArg`): QEMU's option escaping and the address QEMU should dial.
 */

/** QEMU option values: a ',' inside a value is written ',,'. */
export function qemuEscape(v: string): string {
  return v.replaceAll(',', ',,');
}

/** The address QEMU should use to reach a switch bound to `host` (a wildcard is not a destination). */
export function reachable(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}
