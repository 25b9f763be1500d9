/**
 * Socket addresses as users read and write them, shared by the stream and dgram endpoints: IPv6 hosts in
 * brackets when a port follows (`[::1]:5555`), and one canonical spelling per IP address, so a configured
 * remote compares equal to the address the kernel reports for it (`0:0::1` is `::1`).
 */
import net from 'node:net';

/** `host:port`, with an IPv6 host in brackets. */
export function hostPortText(host: string, port: number | undefined): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/** The kernel's spelling of an IP literal (IPv6 compressed, lower case); anything else unchanged. */
export function canonicalHost(host: string): string {
  if (!net.isIPv6(host) || host.includes('%')) return host; // a zone id (fe80::1%eth0) is kept as written
  return new URL(`http://[${host}]/`).hostname.slice(1, -1);
}
