/**
 * A small client of the management API over its unix socket (node:http only). Errors come back as the
 * server's own message, or as a hint to start the daemon when nothing listens.
 */
import { request } from 'node:http';

/** The daemon refused a request: status 4xx is the caller's mistake (CLI exit 2), 5xx the daemon's. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The request field the daemon refused, when it named one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(readonly socketPath: string) {}

  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path: `/v1${path}`,
          headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              return reject(new Error(`API answered ${res.statusCode} with non-JSON: ${text.slice(0, 200)}`));
            }
            const status = res.statusCode ?? 500;
            const e = parsed as { error?: string; field?: string } | null;
            if (status >= 400) reject(new ApiError(status, e?.error ?? `API error ${status}`, e?.field));
            else resolve(parsed as T);
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')
          reject(
            new Error(
              `no vswitch daemon answers on ${this.socketPath}: start one with 'vswitch run' (or 'npm start'), or point --api / VSWITCH_API at its socket`,
            ),
          );
        else reject(err);
      });
      if (data) req.write(data);
      req.end();
    });
  }
}
