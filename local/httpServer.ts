import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLargeError, readBodyBytes, sendJson } from './jsonHttp';
import type { LocalHost } from './localHost';

/** The Functions host's default request size limit (its `FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`). */
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;

export interface HostServerOptions {
  /** 0 picks a free port. */
  port: number;
  maxBodyBytes?: number;
}

export interface HostServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Stops accepting requests and resolves once those in progress are answered. */
  close(): Promise<void>;
}

function tooLarge(res: ServerResponse, maxBytes: number): void {
  // The rest of the body is not read, so the connection cannot carry another request.
  sendJson(
    res,
    413,
    { error: { code: 'payload_too_large', message: `The request body is larger than ${maxBytes} bytes.` } },
    { connection: 'close' },
  );
}

/** Serves the local host over HTTP on loopback: every request goes to `host.http`. */
export async function listenHttp(host: LocalHost, options: HostServerOptions): Promise<HostServer> {
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) return tooLarge(res, maxBytes);
    let body: Buffer;
    try {
      body = await readBodyBytes(req, maxBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return tooLarge(res, maxBytes);
      throw error;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const answer = await host.http({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers,
      ...(body.length > 0 ? { body } : {}),
    });
    if (res.destroyed) return;
    const framing = new Set(['content-length', 'transfer-encoding', 'connection']);
    const responseHeaders = Object.fromEntries(
      Object.entries(answer.headers).filter(([name]) => !framing.has(name.toLowerCase())),
    );
    res.writeHead(answer.status, { ...responseHeaders, 'content-length': answer.body.length });
    res.end(answer.body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'host_error', message } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
