/**
 * Checking an AWS Signature Version 4 on a request to the local
 * `@connections` API, the way API Gateway checks the calls of
 * `ApiGatewayManagementApiClient`: the request is signed again with the
 * runtime's own credentials by `@smithy/signature-v4` (the SDK's own signer),
 * over the headers the client says it signed, and the two signatures are
 * compared in constant time. No crypto here beyond that comparison.
 */
import { createHash, createHmac, timingSafeEqual, type BinaryLike } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { LocalCredentials } from './credentials';

/** API Gateway refuses a signature whose `X-Amz-Date` is more than 5 minutes off its clock ("Signature expired ... - 5 min."). */
export const SIGV4_MAX_SKEW_MS = 5 * 60 * 1000;

/** The service name `ApiGatewayManagementApiClient` signs for. */
const SERVICE = 'execute-api';

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([A-Za-z0-9]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): BinaryLike {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** SHA-256 (or HMAC-SHA256 with a secret) from `node:crypto`, in the shape the signer takes (`HashConstructor`). */
export class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

/** `20261204T191500Z` as a Date, or null. */
function amzDate(text: string | undefined): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (m === null) return null;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Why this request's SigV4 signature does not hold for `credentials`, or
 * null when it does. Required: an `Authorization: AWS4-HMAC-SHA256` header
 * with the runtime's access key id, service `execute-api` (any region: it is
 * part of what is signed), `host` and `x-amz-date` among the signed headers,
 * an `x-amz-date` within 5 minutes of `now` and of the scope's day, a signed
 * `x-amz-content-sha256` (if any) equal to the body's hash, and the
 * signature itself. The reason is for the local debug log: it names no key
 * or secret.
 *
 * @param rawTarget the request target as received (`req.url`): what the client signed.
 * @param body the whole request body (empty for GET and DELETE).
 */
export async function sigV4Refusal(req: IncomingMessage, rawTarget: string, body: Buffer, credentials: LocalCredentials, now = Date.now()): Promise<string | null> {
  const m = AUTHORIZATION.exec(req.headers.authorization ?? '');
  if (m === null) return 'no AWS4-HMAC-SHA256 Authorization header';
  const [, accessKeyId, day, region, service, signedList, signature] = m as unknown as [string, string, string, string, string, string, string];
  if (accessKeyId !== credentials.accessKeyId) return 'another access key';
  if (service !== SERVICE) return `service ${service}, not ${SERVICE}`;
  const signedNames = signedList.split(';');
  if (!signedNames.includes('host') || !signedNames.includes('x-amz-date')) return 'host and x-amz-date must be signed';
  const rawDate = req.headers['x-amz-date'];
  const dateText = typeof rawDate === 'string' ? rawDate : '';
  const date = amzDate(dateText);
  if (date === null || !dateText.startsWith(day)) return 'no x-amz-date, or not the day of the scope';
  if (Math.abs(date.getTime() - now) > SIGV4_MAX_SKEW_MS) return 'x-amz-date more than 5 minutes off';

  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = req.headers[name];
    if (value === undefined) return `signed header ${name} missing`;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const declaredHash = headers['x-amz-content-sha256'];
  if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(body).digest('hex')) return 'x-amz-content-sha256 is not the body\'s';

  const queryAt = rawTarget.indexOf('?');
  const path = queryAt < 0 ? rawTarget : rawTarget.slice(0, queryAt);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(queryAt < 0 ? '' : rawTarget.slice(queryAt + 1))) {
    const before = Object.hasOwn(query, k) ? query[k] : undefined;
    query[k] = before === undefined ? v : [...(Array.isArray(before) ? before : [before]), v];
  }
  const signer = new SignatureV4({ credentials, region, service: SERVICE, sha256: NodeSha256, uriEscapePath: true, applyChecksum: false });
  const signed = await signer.sign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: headers.host ?? '', path, query, headers, ...(body.length > 0 && { body }) },
    { signingDate: date, signingRegion: region, signingService: SERVICE },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization ?? signed.headers.Authorization ?? ''))?.[1];
  if (expected === undefined) return 'could not sign the request again';
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature, 'hex')) ? null : 'signature does not match';
}
