/** The one HTTP error renderer: the contract's error body and status, INTERNAL for anything else, logged. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { httpErrorResponse, httpErrors } from '../../functions/common/http-errors';
import { NotFoundError, PayloadTooLargeError } from '../../shared/domain/errors';
import type { Logger } from '../../shared/runtime/log';

type Request = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

function recordingLogger(lines: { msg: string; fields?: Record<string, unknown> }[]): Logger {
  const write = (msg: string, fields?: Record<string, unknown>) => void lines.push({ msg, ...(fields !== undefined && { fields }) });
  const log: Logger = { debug: write, info: write, warn: write, error: write, child: () => log };
  return log;
}

describe('httpErrorResponse', () => {
  it('renders a domain error with its status, code, message and details', () => {
    const res = httpErrorResponse(new PayloadTooLargeError(65536));
    expect(res.statusCode).toBe(413);
    expect(res.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    expect(JSON.parse(String(res.body))).toEqual({
      error: { code: 'PAYLOAD_TOO_LARGE', message: 'The request is larger than 65536 bytes.', details: { limitBytes: 65536 } },
    });
  });

  it('leaves details out when there are none, and hides anything unknown as INTERNAL', () => {
    expect(JSON.parse(String(httpErrorResponse(new NotFoundError('No such path: /x')).body))).toEqual({ error: { code: 'NOT_FOUND', message: 'No such path: /x' } });
    const res = httpErrorResponse(new Error('table waypost-orders is gone'));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('waypost-orders');
    expect(JSON.parse(String(res.body))).toMatchObject({ error: { code: 'INTERNAL' } });
  });
});

describe('httpErrors (middy onError)', () => {
  it('answers with the rendered error, and logs only an INTERNAL one, with its path', async () => {
    // Arrange
    const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
    const onError = httpErrors(() => recordingLogger(lines)).onError;
    const request = (error: Error): Request =>
      ({ event: { rawPath: '/api/orders' }, context: {}, response: undefined, error, internal: {} }) as unknown as Request;
    const known = request(new NotFoundError());
    const unknown = request(new TypeError('boom'));

    // Act
    await onError?.(known);
    await onError?.(unknown);

    // Assert
    expect(known.response?.statusCode).toBe(404);
    expect(unknown.response?.statusCode).toBe(500);
    expect(lines).toEqual([{ msg: 'http request failed', fields: { path: '/api/orders', error: unknown.error } }]);
  });
});
