import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP server for a local stand-in, listening on `host` (loopback by default) and `port` (0: a free
 * one); a handler that throws destroys that request's socket instead of crashing the process. Rejects
 * when the port is taken, so a CLI can say so.
 */
export async function listenHttp(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  options: { port?: number | undefined; host?: string | undefined } = {},
): Promise<{ server: Server; host: string; port: number }> {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  return { server, host, port: (server.address() as AddressInfo).port };
}
