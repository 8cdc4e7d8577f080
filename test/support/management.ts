/**
 * Calls to the local `@connections` API over HTTP, signed (SigV4) as
 * `ApiGatewayManagementApiClient` signs them, so tests can read the raw
 * answer (status, headers) of each.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { inject } from 'vitest';
import type { LocalCredentials } from '../../local/credentials';
import { LOCAL_REGION } from '../../local/dynamodb';
import { NodeSha256 } from '../../local/sigv4';

export interface SignOptions {
  /** Sign with this date instead of now. */
  readonly signingDate?: Date;
}

/** The headers of `method baseUrl+path` signed (SigV4, service `execute-api`) with `credentials`; `host` left to `fetch`. */
export async function signedHeaders(
  baseUrl: string,
  credentials: LocalCredentials,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: string,
  options: SignOptions = {},
): Promise<Record<string, string>> {
  const url = new URL(baseUrl);
  const signer = new SignatureV4({ credentials: { ...credentials }, region: LOCAL_REGION, service: 'execute-api', sha256: NodeSha256, applyChecksum: false });
  const headers: Record<string, string> = { host: url.host, ...(body !== undefined && { 'content-type': 'application/json' }) };
  const signed = await signer.sign(
    { method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query: {}, headers, ...(body !== undefined && { body }) },
    options.signingDate === undefined ? {} : { signingDate: options.signingDate },
  );
  const sent: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') sent[k] = String(v);
  return sent;
}

/** `fetch` of `method baseUrl+path`, signed as `signedHeaders` signs it. */
export async function signedFetch(
  baseUrl: string,
  credentials: LocalCredentials,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: string,
  options: SignOptions = {},
): Promise<Response> {
  const headers = await signedHeaders(baseUrl, credentials, method, path, body, options);
  return fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined && { body }) });
}

/** The e2e runtime's own credentials (its banner names their file). */
export function runtimeCredentials(): LocalCredentials {
  const credentials = inject('runtimeCredentials');
  if (credentials === null) throw new Error('the e2e runtime printed no credentials file');
  return credentials;
}
