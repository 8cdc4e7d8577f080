/**
 * The `$connect` error renderer (functions/ws-connect/handler.ts), with no
 * database: a refused token is 401 with its message, anything else 500 with
 * no body, logged.
 */
import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import type { WsConnectEvent, WsResult } from '../../functions/common/ws-events';
import { connectErrors } from '../../functions/ws-connect/handler';
import { lambdaContext } from '../../local/lambda';
import { UnauthorizedError } from '../../shared/domain/errors';
import type { Logger } from '../../shared/runtime/log';

const event: WsConnectEvent = { requestContext: { routeKey: '$connect', connectionId: 'c-1', eventType: 'CONNECT' } };

function run(fails: unknown) {
  const errors: { msg: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (msg, fields) => errors.push({ msg, ...(fields && { fields }) }),
    child: () => log,
  };
  const handler = middy<WsConnectEvent, WsResult>(async () => {
    throw fails;
  }).use(connectErrors(() => log));
  return { result: handler(event, lambdaContext('ws-connect')), errors };
}

describe('$connect errors', () => {
  it('refuses a bad token with 401 and its message, logging nothing', async () => {
    const { result, errors } = run(new UnauthorizedError('The token has expired.'));
    expect(await result).toEqual({ statusCode: 401, body: 'The token has expired.' });
    expect(errors).toEqual([]);
  });

  it('answers anything else 500 with no body, and logs it', async () => {
    const failure = new Error('DynamoDB is down');
    const { result, errors } = run(failure);
    expect(await result).toEqual({ statusCode: 500 });
    expect(errors).toEqual([{ msg: 'connect failed', fields: { error: failure } }]);
  });
});
