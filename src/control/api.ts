/**
 * The management API: HTTP/JSON on a unix socket (file permissions are the access control, as with
 * docker.sock). The CLI is one client of it; scripts can use curl --unix-socket. Every handler validates
 * its input completely (control/validate.ts) before calling the Manager, so a bad request changes nothing.
 *
 * Routes (all under /v1):
 *   GET    /switches                          list           POST /switches            create (SwitchConfig)
 *   GET    /switches/:sw                      config+ports   DELETE /switches/:sw      remove
 *   PUT    /switches/:sw/aging                {seconds}     PUT /switches/:sw/mac-table-size {macTableSize}
 *   GET    /switches/:sw/ports                status         POST /switches/:sw/ports  add (PortConfig)
 *   DELETE /switches/:sw/ports/:p             remove
 *   PUT    /switches/:sw/ports/:p/vlan        VlanConfig     PUT .../mtu {mtu}     PUT .../mac-limit {macLimit}
 *   POST   /switches/:sw/ports/:p/disconnect  link down      POST .../connect          link up
 *   GET    /switches/:sw/fdb                  entries        DELETE /switches/:sw/fdb[?port=p]  flush
 *   POST   /switches/:sw/fdb                  static {mac, vid, port}
 *   DELETE /switches/:sw/fdb/:vid/:mac        remove one entry
 *   GET    /switches/:sw/counters             counters       GET /events?since=N       link events
 *   POST   /switches/:sw/ports/:p/capture     start {file, direction, count?, seconds?}   DELETE .../capture  stop
 *   GET    /switches/:sw/ports/:p/capture[?wait=1]  status (wait: answer when it ends)
 *   GET    /switches/:sw/captures             running captures, frames written and lost
 *   GET    /switches/:sw/ports/:p/policy      {mac, policy, stats}   PUT .../policy {mac?, settings...} merge (null resets)
 *   POST   /switches/:sw/ports/:p/acls        AclRule -> with id     DELETE .../acls/:id
 *   POST   /switches/:sw/ports/:p/extended-acls  ExtAclRule -> with id  DELETE .../extended-acls/:id
 *   GET    /switches/:sw/flows[?port=p]       stateful ACL flows
 *   GET    /switches/:sw/queues               workers, VMQ queues, RSS table, queue moves (QueuesStatus)
 *   POST   /switches/:sw/queues/:q/move       {worker}: a manual queue move
 *   PUT    /switches/:sw/rss                  {entries}: the whole RSS indirection table
 *   PATCH  /switches/:sw/tuning               {workers?, moderation?, dvmq?} merged with the running settings (null resets); PUT the same
 *   GET    /config                            running configuration
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { apiServerOptions, boundConnections } from './api-limits.js';
import { captureRequest } from './capture.js';
import type { Manager } from './manager.js';
import type { QueuesStatus } from './model.js';
import * as v from './validate.js';
import { addAcl, addExtendedAcl, patchPolicy, policyStatus, removeRule } from './policy-edit.js';
import { queueMove, queueSettings, tuningRequest, validateRssTable } from './validate-queues.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Request bodies are small JSON documents; 1 MiB is far above any config and bounds a hostile client. */
const kMaxBody = 1 << 20;

async function readBody(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > kMaxBody) throw new HttpError(413, `request body over ${kMaxBody} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
}

type Handler = (m: RegExpMatchArray, body: unknown, url: URL) => Promise<unknown>;

/** Queue moves and the RSS table exist only on a switch with two or more workers. */
function multiWorker(st: QueuesStatus, sw: string, what: string): void {
  if (st.workers.length < 2) v.fail('switch', `'${sw}' runs on one worker, so it has no ${what}; give it more with 'vswitch switch tune ${sw} --workers 2' (config: "workers": 2)`);
}

/** A body `{key: value}` with nothing else: the value (validated by the caller). */
function only(body: unknown, key: string): unknown {
  const o = v.obj(body, 'body');
  v.onlyKeys(o, 'body', [key]);
  if (o[key] === undefined) v.fail(`body.${key}`, 'missing');
  return o[key];
}

export function createApi(mgr: Manager, apiPath?: string, log: (line: string) => void = (l) => console.log(l)): Server {
  const routes: Array<[string, RegExp, Handler]> = [
    ['GET', /^\/v1\/switches$/, async () => mgr.list().map((s) => ({ name: s.name, type: s.config.type ?? 'private', ports: s.config.ports!.length }))],
    ['POST', /^\/v1\/switches$/, async (_m, body) => (await mgr.createSwitch(v.switchConfig(body, 'switch'))).config],
    ['GET', /^\/v1\/switches\/([^/]+)$/, async (m) => {
      const s = mgr.get(m[1]);
      return { config: s.config, ports: await s.ports() };
    }],
    ['DELETE', /^\/v1\/switches\/([^/]+)$/, async (m) => mgr.removeSwitch(m[1])],
    ['PUT', /^\/v1\/switches\/([^/]+)\/mac-table-size$/, async (m, body) => mgr.get(m[1]).setMacTableSize(v.macTableSize(only(body, 'macTableSize'), 'macTableSize'))],
    ['PUT', /^\/v1\/switches\/([^/]+)\/aging$/, async (m, body) => {
      const s = mgr.get(m[1]);
      return s.setAging(v.agingSeconds((body as { seconds?: unknown })?.seconds, 'seconds'));
    }],
    ['GET', /^\/v1\/switches\/([^/]+)\/ports$/, async (m) => mgr.get(m[1]).ports()],
    ['POST', /^\/v1\/switches\/([^/]+)\/ports$/, async (m, body) => mgr.addPort(m[1], v.portConfig(body, 'port', mgr.get(m[1]).config.minimumBandwidthMode))],
    ['GET', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/policy$/, async (m) => policyStatus(mgr.port(m[1], m[2]), m[2])],
    ['PUT', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/policy$/, async (m, body) => patchPolicy(mgr.port(m[1], m[2]), m[2], body)],
    ['POST', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/acls$/, async (m, body) => addAcl(mgr.port(m[1], m[2]), m[2], body)],
    ['DELETE', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/acls\/([^/]+)$/, async (m) => removeRule(mgr.port(m[1], m[2]), m[2], 'acls', m[3])],
    ['POST', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/extended-acls$/, async (m, body) => addExtendedAcl(mgr.port(m[1], m[2]), m[2], body)],
    ['DELETE', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/extended-acls\/([^/]+)$/, async (m) => removeRule(mgr.port(m[1], m[2]), m[2], 'extendedAcls', m[3])],
    ['DELETE', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)$/, async (m) => mgr.port(m[1], m[2]).removePort(m[2])],
    ['PUT', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/vlan$/, async (m, body) => mgr.port(m[1], m[2]).setVlan(m[2], v.vlanConfig(body, 'vlan'))],
    ['PUT', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/mtu$/, async (m, body) => mgr.port(m[1], m[2]).setMtu(m[2], v.mtu((body as { mtu?: unknown })?.mtu, 'mtu'))],
    ['PUT', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/mac-limit$/, async (m, body) => mgr.port(m[1], m[2]).setMacLimit(m[2], v.macLimit((body as { macLimit?: unknown })?.macLimit, 'macLimit'))],
    ['POST', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/disconnect$/, async (m) => mgr.port(m[1], m[2]).setAdmin(m[2], false)],
    ['POST', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/connect$/, async (m) => mgr.port(m[1], m[2]).setAdmin(m[2], true)],
    ['GET', /^\/v1\/switches\/([^/]+)\/fdb$/, async (m) => mgr.get(m[1]).fdbShow()],
    ['DELETE', /^\/v1\/switches\/([^/]+)\/fdb$/, async (m, _b, url) => {
      const port = url.searchParams.get('port') ?? undefined;
      const s = port === undefined ? mgr.get(m[1]) : mgr.port(m[1], port);
      return { flushed: await s.fdbFlush(port) };
    }],
    ['POST', /^\/v1\/switches\/([^/]+)\/fdb$/, async (m, body) => {
      const e = v.staticMac(body, 'entry');
      return mgr.port(m[1], e.port).fdbAdd(e.mac, e.vid, e.port);
    }],
    ['DELETE', /^\/v1\/switches\/([^/]+)\/fdb\/([^/]+)\/([^/]+)$/, async (m) =>
      mgr.get(m[1]).fdbDel(v.macText(decodeURIComponent(m[3]), 'mac'), v.vid(Number(m[2]), 'vid'))],
    ['GET', /^\/v1\/switches\/([^/]+)\/counters$/, async (m) => mgr.get(m[1]).readCounters()],
    ['GET', /^\/v1\/switches\/([^/]+)\/flows$/, async (m, _b, url) => {
      const port = url.searchParams.get('port') ?? undefined;
      return port === undefined ? mgr.get(m[1]).flows() : mgr.port(m[1], port).flows(port);
    }],
    ['GET', /^\/v1\/switches\/([^/]+)\/queues$/, async (m) => mgr.get(m[1]).queues()],
    // Queue and worker ranges come from the running switch (its status), so the refusal names the real ones.
    ['POST', /^\/v1\/switches\/([^/]+)\/queues\/([^/]+)\/move$/, async (m, body) => {
      const s = mgr.get(m[1]);
      const st = await s.queues();
      multiWorker(st, s.name, 'queues to move');
      const q = /^\d+$/.test(m[2]) ? Number(m[2]) : decodeURIComponent(m[2]);
      const mv = queueMove(q, only(body, 'worker'), st.queues.map((x) => x.queue), st.workers.length);
      return s.moveQueue(mv.queue, mv.worker);
    }],
    ['PUT', /^\/v1\/switches\/([^/]+)\/rss$/, async (m, body) => {
      const s = mgr.get(m[1]);
      const st = await s.queues();
      multiWorker(st, s.name, 'RSS table');
      return s.setRssTable(validateRssTable(only(body, 'entries'), st.rss.size, st.workers.length, 'entries'));
    }],
    ...(['PATCH', 'PUT'] as const).map((method): [string, RegExp, Handler] => [method, /^\/v1\/switches\/([^/]+)\/tuning$/, async (m, body) => {
      // merged with the applied config (the handle keeps it), so `config show` and the next change agree
      const s = mgr.get(m[1]);
      const running = queueSettings(s.config);
      const t = tuningRequest(body, running);
      await s.tune(t);
      return { workers: t.workers ?? running.workers, moderation: t.moderation ?? running.moderation, dvmq: t.dvmq ?? running.dvmq };
    }]),
    ['POST', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/capture$/, async (m, body) => {
      const req = captureRequest(body, 'capture');
      return mgr.port(m[1], m[2]).captures.start(m[2], req);
    }],
    ['DELETE', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/capture$/, async (m) => mgr.port(m[1], m[2]).captures.stop(m[2])],
    ['GET', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/capture$/, async (m, _b, url) => {
      const c = mgr.port(m[1], m[2]).captures;
      return url.searchParams.get('wait') === '1' ? c.wait(m[2]) : c.status(m[2]);
    }],
    ['GET', /^\/v1\/switches\/([^/]+)\/captures$/, async (m) => mgr.get(m[1]).captures.list()],
    ['GET', /^\/v1\/events$/, async (_m, _b, url) => {
      const since = Number(url.searchParams.get('since') ?? 0);
      return mgr.events.slice(Number.isFinite(since) && since > 0 ? -Math.min(since, mgr.events.length) : 0);
    }],
    ['GET', /^\/v1\/config$/, async () => mgr.snapshot(apiPath)],
  ];

  const server = createServer(apiServerOptions, (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://vswitch');
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload ?? null) + '\n');
    };
    (async () => {
      let allowed: string[] = [];
      for (const [method, re, handler] of routes) {
        const m = url.pathname.match(re);
        if (!m) continue;
        allowed.push(method);
        if (method !== req.method) continue;
        const body = await readBody(req);
        const result = await handler(m, body, url);
        send(req.method === 'POST' && /\/(switches|ports|capture)$/.test(url.pathname) ? 201 : 200, result ?? { ok: true });
        return;
      }
      if (allowed.length) throw new HttpError(405, `${req.method} not allowed on ${url.pathname}; use ${allowed.join(' or ')}`);
      throw new HttpError(404, `no such API path ${url.pathname}; see 'vswitch --help'`);
    })().catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 400;
      const field = err instanceof v.ConfigError ? err.field : undefined;
      send(status, { error: err instanceof Error ? err.message : String(err), ...(field ? { field } : {}) });
    });
  });
  boundConnections(server, log);
  return server;
}
