/** Small HTTP helpers of the local gateway's parts: request targets, bodies, JSON answers, refused upgrades. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** The local HTTP body cap in bytes (API Gateway's is 10 MB; handlers enforce their own, smaller, limits). */
export const HTTP_BODY_CAP_BYTES = 1024 * 1024;

/**
 * A request target as a URL on this server, or null when it is none (`//[`,
 * `//a:b`: a 400, never a thrown 500). An origin-form target (`/…`) is
 * always a path, so `//api/orders` stays the path `//api/orders` rather
 * than naming a host `api`.
 */
export function requestUrl(target: string | undefined): URL | null {
  const t = target ?? '/';
  try {
    return new URL(t.startsWith('/') ? `http://127.0.0.1${t}` : t, 'http://127.0.0.1');
  } catch {
    return null;
  }
}

/** `decodeURIComponent`, or null for malformed percent-encoding (`%E0`): a 4xx, never a thrown 500. */
export function decodedOrNull(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** The body, or null when it is larger than `cap` bytes (the rest is read and dropped). */
export function readBody(req: IncomingMessage, cap: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Answer with `value` as JSON (`no-store`); `headers` are added last. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body).toString(),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** Refuse an upgrade with a plain HTTP status: no socket is opened. */
export function refuse(socket: Duplex, status: number, text: string): void {
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
  }
  socket.destroy();
}
