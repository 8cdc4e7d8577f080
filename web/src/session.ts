/**
 * Who is signed in. The token lives in sessionStorage (gone with the tab).
 * Its claims are decoded here only to pick the view: the server checks the
 * signature and authorizes every request.
 */
import { claimsSchema, type Role } from '../../shared/domain/schemas';
import { decodeBase64Url } from '../sdk/token';

export interface Claims {
  readonly sub: string;
  readonly tenant: string;
  readonly role: Role;
  readonly retailerId?: string;
  readonly exp: number;
}

export interface Session {
  readonly token: string;
  readonly claims: Claims;
}

const KEY = 'waypost.token';

/** The token's claims, or an Error saying in plain words what is wrong with it. */
export function decodeClaims(token: string, now = Date.now()): Claims {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts.some((p) => p === '')) throw new Error('That is not a token: a token has three parts separated by dots.');
  let payload: unknown;
  try {
    payload = JSON.parse(decodeBase64Url(parts[1]!));
  } catch {
    throw new Error('That token cannot be read: its middle part is not base64url JSON.');
  }
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`That token lacks what Waypost needs: ${issue ? `"${issue.path.join('.') || 'claims'}" ${issue.message}` : 'bad claims'}.`);
  }
  if (parsed.data.exp * 1000 <= now) throw new Error(`That token expired at ${new Date(parsed.data.exp * 1000).toLocaleString()}.`);
  return parsed.data;
}

export function loadSession(): Session | null {
  const token = sessionStorage.getItem(KEY);
  if (token === null) return null;
  try {
    return { token, claims: decodeClaims(token) };
  } catch {
    sessionStorage.removeItem(KEY);
    return null;
  }
}

export function saveSession(token: string): Session {
  const claims = decodeClaims(token);
  sessionStorage.setItem(KEY, token.trim());
  return { token: token.trim(), claims };
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** The outbox of one user in one tenant: a shared phone never replays someone else's posts. */
export function outboxKey(claims: Claims): string {
  return `waypost.outbox.${claims.tenant}.${claims.sub}`;
}
