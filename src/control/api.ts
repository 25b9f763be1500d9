/**
 * The management API: HTTP/JSON on a unix socket (file permissions are the access control, as with
 * docker.sock). The CLI is one client of it; scripts can use curl --unix-socket. Every handler validates
 * its input completely (control/validate.ts) before calling the Manager, so a bad request changes nothing.
 *
 * Design notes: README.md in this folder, section "api.ts".
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { apiServerOptions, boundConnections } from './api-limits.js';
import { captureRequest } from './capture.js';
import { kernelDrops } from './kernel-drops.js';
import type { Manager } from './manager.js';
import type { PortConfig, QueuesStatus, SwitchConfig } from './model.js';
import { portView, type PortView } from './port-view.js';
import { port as portSettings } from './settings/port.js';
import { configSchema } from './settings/schema.js';
import type { PortSetters, SwitchSetters } from './settings/setting.js';
import { switchSettings } from './settings/switch.js';
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

/** The HTTP status of a failed request: whose mistake it was (see the header). */
export function errorStatus(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof v.ConfigError) return 400;
  if (err instanceof Error && err.constructor === Error) return 409;
  return 500;
}

/** A running switch, as the Manager hands it out. */
type SwitchHandle = ReturnType<Manager['get']>;

/** A path the daemon will open for the caller: absolute, since the daemon's directory is not the caller's. */
function absolutePath(path: string | undefined, field: string): void {
  if (path !== undefined && !path.startsWith('/'))
    v.fail(
      field,
      `'${path}' is a relative path; give an absolute one (the daemon's working directory is not yours; the vswitch CLI resolves relative paths against its own)`,
    );
}

async function portsOf(s: SwitchHandle): Promise<PortView[]> {
  return (await s.ports()).map((p) => portView(s.name, p, s.portConfig(p.name)));
}

async function portOf(s: SwitchHandle, name: string): Promise<PortView> {
  const p = (await portsOf(s)).find((x) => x.name === name);
  if (!p) throw new v.ConfigError('port', `switch '${s.name}' has no port named '${name}'`);
  return p;
}

/** Remove an ACL and answer the rule as it was. */
async function removeRuleOf(
  s: SwitchHandle,
  port: string,
  list: 'acls' | 'extendedAcls',
  id: string,
): Promise<unknown> {
  const was = (s.portConfig(port)?.policy?.[list] ?? []).find((r) => String(r.id) === id);
  await removeRule(s, port, list, id);
  return was;
}

/** The switch's config as it now is (ports included), the answer to a switch-level change. */
function switchConfigOf(mgr: Manager, name: string): SwitchConfig {
  return mgr.snapshot().switches.find((x) => x.name === name)!;
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
  if (st.workers.length < 2)
    v.fail(
      'switch',
      `'${sw}' runs on one worker, so it has no ${what}; give it more with 'vswitch switch tune ${sw} --workers 2' (config: "workers": 2)`,
    );
}

/** A body `{key: value}` with nothing else: the value (validated by the caller). */
function only(body: unknown, key: string): unknown {
  const o = v.obj(body, 'body');
  v.onlyKeys(o, 'body', [key]);
  if (o[key] === undefined) v.fail(`body.${key}`, 'missing');
  return o[key];
}

/** `log` gets internal errors with their stack; `changed` runs after every successful change (any method but
 *  GET) and is awaited before the answer (the daemon saves its state file there). */
export function createApi(
  mgr: Manager,
  apiPath?: string,
  log: (line: string) => void = (l) => console.error(l),
  changed?: () => Promise<void>,
): Server {
  const routes: Array<[string, RegExp, Handler]> = [
    [
      'GET',
      /^\/v1\/switches$/,
      async () =>
        mgr.list().map((s) => ({ name: s.name, type: s.config.type ?? 'private', ports: s.config.ports!.length })),
    ],
    ['POST', /^\/v1\/switches$/, async (_m, body) => (await mgr.createSwitch(v.switchConfig(body, 'switch'))).config],
    [
      'GET',
      /^\/v1\/switches\/([^/]+)$/,
      async (m) => {
        const s = mgr.get(m[1]);
        return {
          config: switchConfigOf(mgr, s.name),
          ports: await portsOf(s),
          datapath: { workers: s.workerCount, restarts: s.restarts, lastFault: s.lastFault },
        };
      },
    ],
    [
      'DELETE',
      /^\/v1\/switches\/([^/]+)$/,
      async (m) => {
        const was = switchConfigOf(mgr, mgr.get(m[1]).name);
        await mgr.removeSwitch(m[1]);
        return was;
      },
    ],
    // a switch setting that changes at runtime: PUT /switches/:sw/ROUTE {BODY}, from its declaration (settings/switch.ts)
    ...Object.values(switchSettings.fields ?? {}).flatMap((d): Array<[string, RegExp, Handler]> => {
      const rt = d.runtime;
      if (!rt?.applySwitch) return [];
      return [
        [
          'PUT',
          new RegExp(`^/v1/switches/([^/]+)/${rt.route}$`),
          async (m, body) => {
            const s = mgr.get(m[1]);
            const setters: SwitchSetters = s;
            const r = await setters[rt.applySwitch!](d.check(only(body, rt.body), rt.body) as number);
            return r ?? switchConfigOf(mgr, s.name);
          },
        ],
      ];
    }),
    ['GET', /^\/v1\/switches\/([^/]+)\/ports$/, async (m) => portsOf(mgr.get(m[1]))],
    [
      'POST',
      /^\/v1\/switches\/([^/]+)\/ports$/,
      async (m, body) => {
        const port = v.portConfig(body, 'port', mgr.get(m[1]).config.minimumBandwidthMode);
        if (port.nic.type === 'stream') absolutePath(port.nic.path, 'port.nic.path');
        await mgr.addPort(m[1], port);
        return portOf(mgr.get(m[1]), port.name);
      },
    ],
    [
      'GET',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)$/,
      async (m) => {
        const s = mgr.port(m[1], m[2]);
        return { config: s.portConfig(m[2]), status: await portOf(s, m[2]) };
      },
    ],
    ['GET', /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/policy$/, async (m) => policyStatus(mgr.port(m[1], m[2]), m[2])],
    [
      'PUT',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/policy$/,
      async (m, body) => patchPolicy(mgr.port(m[1], m[2]), m[2], body),
    ],
    [
      'POST',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/acls$/,
      async (m, body) => addAcl(mgr.port(m[1], m[2]), m[2], body),
    ],
    [
      'DELETE',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/acls\/([^/]+)$/,
      async (m) => removeRuleOf(mgr.port(m[1], m[2]), m[2], 'acls', m[3]),
    ],
    [
      'POST',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/extended-acls$/,
      async (m, body) => addExtendedAcl(mgr.port(m[1], m[2]), m[2], body),
    ],
    [
      'DELETE',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/extended-acls\/([^/]+)$/,
      async (m) => removeRuleOf(mgr.port(m[1], m[2]), m[2], 'extendedAcls', m[3]),
    ],
    [
      'DELETE',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)$/,
      async (m) => {
        const s = mgr.port(m[1], m[2]);
        const was: PortConfig | undefined = s.portConfig(m[2]);
        await s.removePort(m[2]);
        // the datapath drops the port's static entries with it; so does the config
        s.config.staticMacs = (s.config.staticMacs ?? []).filter((e) => e.port !== m[2]);
        return was;
      },
    ],
    [
      'PUT',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/vlan$/,
      async (m, body) => {
        const s = mgr.port(m[1], m[2]);
        await s.setVlan(m[2], v.vlanConfig(body, 'vlan'));
        return portOf(s, m[2]);
      },
    ],
    // a port setting that changes at runtime: PUT .../ports/:p/ROUTE {BODY}, from its declaration (settings/port.ts)
    ...Object.values(portSettings.fields ?? {}).flatMap((d): Array<[string, RegExp, Handler]> => {
      const rt = d.runtime;
      if (!rt?.apply) return [];
      return [
        [
          'PUT',
          new RegExp(`^/v1/switches/([^/]+)/ports/([^/]+)/${rt.route}$`),
          async (m, body) => {
            const s = mgr.port(m[1], m[2]);
            const setters: PortSetters = s;
            await setters[rt.apply!](m[2], d.check(only(body, rt.body), rt.body) as number);
            return portOf(s, m[2]);
          },
        ],
      ];
    }),
    ...(['disconnect', 'connect'] as const).map((op): [string, RegExp, Handler] => [
      'POST',
      new RegExp(`^/v1/switches/([^/]+)/ports/([^/]+)/${op}$`),
      async (m) => {
        const s = mgr.port(m[1], m[2]);
        await s.setAdmin(m[2], op === 'connect');
        return portOf(s, m[2]);
      },
    ]),
    ['GET', /^\/v1\/switches\/([^/]+)\/fdb$/, async (m) => mgr.get(m[1]).fdbShow()],
    [
      'DELETE',
      /^\/v1\/switches\/([^/]+)\/fdb$/,
      async (m, _b, url) => {
        const port = url.searchParams.get('port') ?? undefined;
        const s = port === undefined ? mgr.get(m[1]) : mgr.port(m[1], port);
        return { flushed: await s.fdbFlush(port) };
      },
    ],
    ['POST', /^\/v1\/switches\/([^/]+)\/fdb$/, async (m, body) => mgr.fdbAdd(m[1], v.staticMac(body, 'entry'))],
    [
      'DELETE',
      /^\/v1\/switches\/([^/]+)\/fdb\/([^/]+)\/([^/]+)$/,
      async (m) => mgr.fdbDel(m[1], v.macText(decodeURIComponent(m[3]), 'mac'), v.vid(Number(m[2]), 'vid')),
    ],
    [
      'GET',
      /^\/v1\/switches\/([^/]+)\/counters$/,
      async (m) => {
        const s = mgr.get(m[1]);
        const c = s.readCounters();
        // beside the switch's own drops: what the kernel dropped before the switch saw it (TAP queue, socket buffer)
        // a dgram port bound to port 0 is found by the port it got (one worker round trip, only then)
        const status = (s.config.ports ?? []).some((p) => p.nic.type === 'dgram' && !p.nic.localPort)
          ? await s.ports()
          : [];
        const bound = (name: string) => {
          const local = status.find((p) => p.name === name)?.detail.local;
          return typeof local === 'string' ? Number(local.slice(local.lastIndexOf(':') + 1)) : undefined;
        };
        for (const [name, k] of Object.entries(await kernelDrops(s.config.ports ?? [], bound)))
          if (c.ports[name]) c.ports[name].kernel = k;
        const vde = mgr.vdeOf(s.name);
        return vde ? { ...c, vde: vde.stats() } : c;
      },
    ],
    [
      'GET',
      /^\/v1\/switches\/([^/]+)\/flows$/,
      async (m, _b, url) => {
        const port = url.searchParams.get('port') ?? undefined;
        return port === undefined ? mgr.get(m[1]).flows() : mgr.port(m[1], port).flows(port);
      },
    ],
    ['GET', /^\/v1\/switches\/([^/]+)\/queues$/, async (m) => mgr.get(m[1]).queues()],
    // Queue and worker ranges come from the running switch (its status), so the refusal names the real ones.
    [
      'POST',
      /^\/v1\/switches\/([^/]+)\/queues\/([^/]+)\/move$/,
      async (m, body) => {
        const s = mgr.get(m[1]);
        const st = await s.queues();
        multiWorker(st, s.name, 'queues to move');
        const q = /^\d+$/.test(m[2]) ? Number(m[2]) : decodeURIComponent(m[2]);
        const mv = queueMove(
          q,
          only(body, 'worker'),
          st.queues.map((x) => x.queue),
          st.workers.length,
        );
        await s.moveQueue(mv.queue, mv.worker);
        return (await s.queues()).queues.find((x) => x.queue === mv.queue);
      },
    ],
    [
      'PUT',
      /^\/v1\/switches\/([^/]+)\/rss$/,
      async (m, body) => {
        const s = mgr.get(m[1]);
        const st = await s.queues();
        multiWorker(st, s.name, 'RSS table');
        await s.setRssTable(validateRssTable(only(body, 'entries'), st.rss.size, st.workers.length, 'entries'));
        return (await s.queues()).rss;
      },
    ],
    ...(['PATCH', 'PUT'] as const).map((method): [string, RegExp, Handler] => [
      method,
      /^\/v1\/switches\/([^/]+)\/tuning$/,
      async (m, body) => {
        // merged with the applied config (the handle keeps it), so `config show` and the next change agree
        const s = mgr.get(m[1]);
        const running = queueSettings(s.config);
        const t = tuningRequest(body, running);
        await s.tune(t);
        return {
          workers: t.workers ?? running.workers,
          moderation: t.moderation ?? running.moderation,
          dvmq: t.dvmq ?? running.dvmq,
          pollWindowUs: t.pollWindowUs ?? running.pollWindowUs,
        };
      },
    ]),
    [
      'POST',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/capture$/,
      async (m, body) => {
        const req = captureRequest(body, 'capture');
        const s = mgr.port(m[1], m[2]);
        return s.captures.start(m[2], { ...req, file: await mgr.captureFile(req.file) });
      },
    ],
    [
      'DELETE',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/capture$/,
      async (m) => mgr.port(m[1], m[2]).captures.stop(m[2]),
    ],
    [
      'GET',
      /^\/v1\/switches\/([^/]+)\/ports\/([^/]+)\/capture$/,
      async (m, _b, url) => {
        const c = mgr.port(m[1], m[2]).captures;
        return url.searchParams.get('wait') === '1' ? c.wait(m[2]) : c.status(m[2]);
      },
    ],
    ['GET', /^\/v1\/switches\/([^/]+)\/captures$/, async (m) => mgr.get(m[1]).captures.list()],
    [
      'GET',
      /^\/v1\/events$/,
      async (_m, _b, url) => {
        const since = Number(url.searchParams.get('since') ?? 0);
        return mgr.events.slice(Number.isFinite(since) && since > 0 ? -Math.min(since, mgr.events.length) : 0);
      },
    ],
    ['GET', /^\/v1\/config$/, async () => mgr.snapshot(apiPath)],
    ['GET', /^\/v1\/schema$/, async () => configSchema()],
  ];
  // Test hook, absent from the CLI and from a normal run: make a datapath worker throw (reliability tests).
  if (process.env.VSWITCH_FAULT_INJECT === '1')
    routes.push([
      'POST',
      /^\/v1\/switches\/([^/]+)\/fault$/,
      async (m, body) => ({ armed: await mgr.get(m[1]).injectFault(v.int(only(body, 'worker'), 'worker', 0, 63)) }),
    ]);

  const server = createServer(apiServerOptions, (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://vswitch');
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload ?? null) + '\n');
    };
    (async () => {
      const allowed: string[] = [];
      for (const [method, re, handler] of routes) {
        const m = url.pathname.match(re);
        if (!m) continue;
        allowed.push(method);
        if (method !== req.method) continue;
        const body = await readBody(req);
        const result = await handler(m, body, url);
        if (req.method !== 'GET' && changed) await changed();
        send(
          req.method === 'POST' && /\/(switches|ports|capture)$/.test(url.pathname) ? 201 : 200,
          result ?? { ok: true },
        );
        return;
      }
      if (allowed.length)
        throw new HttpError(405, `${req.method} not allowed on ${url.pathname}; use ${allowed.join(' or ')}`);
      throw new HttpError(404, `no such API path ${url.pathname}; see 'vswitch --help'`);
    })().catch((err: unknown) => {
      const status = errorStatus(err);
      if (status >= 500)
        log(
          `vswitch: API ${req.method} ${url.pathname}: internal error\n${err instanceof Error ? err.stack : String(err)}`,
        );
      const field = err instanceof v.ConfigError ? err.field : undefined;
      send(status, { error: err instanceof Error ? err.message : String(err), ...(field ? { field } : {}) });
    });
  });
  boundConnections(server, log);
  return server;
}
