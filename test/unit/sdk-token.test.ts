/**
 * The SDK's renewal timing (web/sdk/token.ts): a token's times are read
 * without verifying it, and it is renewed 60 s or a tenth of its lifetime
 * before it expires, whichever is smaller.
 */
import { describe, expect, it } from 'vitest';
import { signLocalToken } from '../../shared/runtime/auth';
import { RENEW_MARGIN_MAX_MS, renewAtMs, renewRetryMs, tokenTimes } from '../../web/sdk/token';

const jwt = (payload: unknown) => `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

describe('tokenTimes', () => {
  it('reads exp and iat of a real token without its secret', async () => {
    // Arrange
    const before = Math.floor(Date.now() / 1000);
    const token = await signLocalToken('some-secret', { tenant: 't', role: 'driver', sub: 'd', ttlSeconds: 120 });

    // Act
    const times = tokenTimes(token);

    // Assert
    expect(times?.exp).toBeGreaterThanOrEqual(before + 120);
    expect(times?.exp).toBeLessThanOrEqual(before + 121);
    expect(times!.exp - times!.iat!).toBe(120);
  });

  it('reads a payload with non-ASCII claims and no iat', () => {
    expect(tokenTimes(jwt({ sub: 'Zoë', exp: 2_000_000_000 }))).toEqual({ exp: 2_000_000_000 });
  });

  it.each([
    ['no payload', 'abc'],
    ['an empty payload', 'a..c'],
    ['a payload that is not base64url JSON', 'a.%%%.c'],
    ['a payload that is JSON but not an object', jwt(42)],
    ['no exp', jwt({ sub: 'x' })],
    ['a string exp', jwt({ exp: '2000000000' })],
  ])('gives null for %s', (_label, token) => {
    expect(tokenTimes(token)).toBeNull();
  });
});

describe('renewAtMs', () => {
  const iat = 1_800_000_000;

  it.each([
    ['an hour: 60 s before', 3600, 60_000],
    ['ten minutes: 60 s (a tenth) before', 600, 60_000],
    ['five minutes: a tenth, 30 s, before', 300, 30_000],
    ['two seconds: a tenth, 200 ms, before', 2, 200],
    ['a day: never more than 60 s before', 86_400, RENEW_MARGIN_MAX_MS],
  ] as [string, number, number][])('renews a token of %s', (_label, lifetime, marginMs) => {
    // Act
    const at = renewAtMs({ exp: iat + lifetime, iat }, iat * 1000);

    // Assert
    expect((iat + lifetime) * 1000 - at).toBe(marginMs);
  });

  it('measures the lifetime from when the token was received when it has no iat', () => {
    // Arrange
    const receivedAt = iat * 1000 + 500;

    // Act
    const at = renewAtMs({ exp: iat + 10 }, receivedAt);

    // Assert: 9.5 s of life, renewed 950 ms before exp.
    expect((iat + 10) * 1000 - at).toBe(950);
  });

  it('renews an already expired token at once (its exp, with no margin)', () => {
    expect(renewAtMs({ exp: iat, iat: iat + 5 }, (iat + 5) * 1000)).toBe(iat * 1000);
  });
});

describe('renewRetryMs', () => {
  it.each([
    [60_000, 5_000],
    [8_000, 2_000],
    [400, 250],
    [0, 250],
  ])('with %i ms left waits %i ms', (left, wait) => {
    expect(renewRetryMs(left)).toBe(wait);
  });
});
