/**
 * Bounds on the management API's connections, so a local client cannot exhaust the daemon's file
 * descriptors (slowloris: hundreds of connections each sending a header byte now and then) and with them
 * every new VM connection. Node's own timeouts end a request whose headers or body are too slow; on top
 * of that at most kMaxConnections are open: a new connection beyond it closes the oldest one that has no
 * request being answered (a slow or idle one), so the attacker's connections make way for a real client
 * instead of locking it out (plain `maxConnections` would refuse the newcomer). Only when every connection
 * is busy answering is the newcomer closed. Both are counted and logged, at most once per kLogEveryMs.
 */
import type { ServerOptions } from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Open API connections: a CLI call uses one for a few ms; 64 leaves room for scripts and long waits
 *  (`capture ... ?wait=1`) while bounding the daemon's descriptors. */
export const kMaxConnections = 64;
/** Headers must arrive within 10 s (a CLI sends them in one write); the whole request within 30 s. */
const kHeadersTimeoutMs = 10_000;
const kRequestTimeoutMs = 30_000;
/** An idle keep-alive connection is closed after 5 s (Node's default, stated so it is not lost). */
const kKeepAliveTimeoutMs = 5_000;
/** How often Node checks the two request timeouts (its default of 30 s would let them overrun by 30 s). */
const kCheckIntervalMs = 1_000;
/** At most one log line about closed connections per minute: an attack must not flood the log either. */
const kLogEveryMs = 60_000;

export const apiServerOptions: ServerOptions = {
  headersTimeout: kHeadersTimeoutMs,
  requestTimeout: kRequestTimeoutMs,
  keepAliveTimeout: kKeepAliveTimeoutMs,
  connectionsCheckingInterval: kCheckIntervalMs,
};

export interface ApiConnectionStats {
  open: number;
  /** Slow or idle connections closed to make room for a new one. */
  evicted: number;
  /** New connections closed because every open one was busy answering. */
  refused: number;
}

/** Apply the connection bound to `server`; returns its live counters. */
export function boundConnections(
  server: Server,
  log: (line: string) => void,
  max = kMaxConnections,
): ApiConnectionStats {
  const stats: ApiConnectionStats = { open: 0, evicted: 0, refused: 0 };
  const open = new Set<Socket>(); // insertion order: oldest first
  const busy = new Set<Socket>();
  let lastLog = 0;
  const note = () => {
    const now = Date.now();
    if (now - lastLog < kLogEveryMs) return;
    lastLog = now;
    log(
      `vswitch: management API at its ${max} connections: ${stats.evicted} slow or idle ones closed, ${stats.refused} new ones refused so far`,
    );
  };
  server.on('connection', (sock: Socket) => {
    open.add(sock);
    stats.open = open.size;
    sock.once('close', () => {
      open.delete(sock);
      busy.delete(sock);
      stats.open = open.size;
    });
    if (open.size <= max) return;
    for (const old of open) {
      if (old === sock || busy.has(old)) continue;
      open.delete(old);
      old.destroy();
      stats.evicted++;
      stats.open = open.size;
      note();
      return;
    }
    open.delete(sock);
    sock.destroy();
    stats.refused++;
    stats.open = open.size;
    note();
  });
  server.on('request', (req, res) => {
    const sock = req.socket;
    busy.add(sock);
    res.once('close', () => busy.delete(sock));
  });
  return stats;
}
