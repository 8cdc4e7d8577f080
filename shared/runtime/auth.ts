/**
 * Tokens (CONTRACT §2). Verification accepts only the algorithms configured
 * (HS256 locally, RS256/ES256 against a JWKS in the cloud), so `alg: none`
 * and algorithm confusion are refused by construction.
 */
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { UnauthorizedError } from '../domain/errors';
import type { Principal } from '../domain/model';
import { claimsSchema, type Role } from '../domain/schemas';
import type { JwtConfig } from './config';

/** A token that verified: who it proves, and until when (its `exp` claim, epoch seconds). */
export interface VerifiedToken {
  readonly principal: Principal;
  readonly exp: number;
}

/**
 * Verifies a token (signature, algorithm, expiry, Waypost's claims). Throws
 * `UnauthorizedError` for a missing, forged, expired or incomplete token; the
 * token itself is never put in the error or a log.
 */
export type TokenVerifier = (token: string | undefined) => Promise<VerifiedToken>;

export function createTokenVerifier(jwt: JwtConfig): TokenVerifier {
  const verify =
    jwt.mode === 'hs256'
      ? (() => {
          const key = new TextEncoder().encode(jwt.secret);
          return (token: string) => jwtVerify(token, key, { algorithms: ['HS256'] });
        })()
      : (() => {
          const jwks = createRemoteJWKSet(new URL(jwt.jwksUrl));
          return (token: string) =>
            jwtVerify(token, jwks, {
              algorithms: ['RS256', 'ES256'],
              ...(jwt.issuer && { issuer: jwt.issuer }),
              ...(jwt.audience && { audience: jwt.audience }),
            });
        })();

  return async (token) => {
    if (token === undefined || token === '') throw new UnauthorizedError('A token is required.');
    let payload: JWTPayload;
    try {
      ({ payload } = await verify(token));
    } catch {
      throw new UnauthorizedError('The token is invalid or expired.');
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new UnauthorizedError('The token lacks the claims Waypost needs (sub, tenant, role, exp).');
    const { sub, tenant, role, retailerId, exp } = claims.data;
    return { principal: { sub, tenant, role, ...(retailerId !== undefined && { retailerId }) }, exp };
  };
}

/** The token in an `Authorization: Bearer …` header, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

export interface TokenRequest {
  readonly tenant: string;
  readonly role: Role;
  readonly sub: string;
  readonly retailerId?: string;
  /** Seconds; default one hour. */
  readonly ttlSeconds?: number;
}

/** Sign a local HS256 token (the local runtime, `npm run token`, tests). */
export async function signLocalToken(secret: string, req: TokenRequest): Promise<string> {
  const claims = claimsSchema.parse({
    sub: req.sub,
    tenant: req.tenant,
    role: req.role,
    ...(req.retailerId !== undefined && { retailerId: req.retailerId }),
    exp: Math.floor(Date.now() / 1000) + (req.ttlSeconds ?? 3600),
  });
  return new SignJWT({ tenant: claims.tenant, role: claims.role, ...(claims.retailerId && { retailerId: claims.retailerId }) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(claims.exp)
    .sign(new TextEncoder().encode(secret));
}
