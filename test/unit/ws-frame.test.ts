/**
 * The `$default` transport (functions/common/ws-frame.ts) with no database:
 * the frame is read in CONTRACT §5's order (size, JSON, object, action) and
 * every error, the service's and unexpected ones included, becomes one
 * error reply echoing the reqId when it could be read.
 */
import { describe, expect, it } from 'vitest';
import { wsDefaultHandler } from '../../functions/ws-default/handler';
import { lambdaContext } from '../../local/lambda';
import { ForbiddenError } from '../../shared/domain/errors';
import type { Action } from '../../shared/domain/protocol';
import type { Logger } from '../../shared/runtime/log';

interface Handled {
  readonly connectionId: string;
  readonly action: Action;
  readonly body: unknown;
  readonly reqId: string | undefined;
}

/** The handler over a service that records what reaches it and answers with `answer`. */
function harness(answer: (call: Handled) => Promise<unknown>) {
  const calls: Handled[] = [];
  const logged: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = {
    debug: (msg, fields) => logged.push({ level: 'debug', msg, ...(fields && { fields }) }),
    info: (msg, fields) => logged.push({ level: 'info', msg, ...(fields && { fields }) }),
    warn: (msg, fields) => logged.push({ level: 'warn', msg, ...(fields && { fields }) }),
    error: (msg, fields) => logged.push({ level: 'error', msg, ...(fields && { fields }) }),
    child: () => log,
  };
  const handler = wsDefaultHandler({
    service: () => ({
      handle: async (connectionId, action, body, reqId) => {
        const call = { connectionId, action, body, reqId };
        calls.push(call);
        return (await answer(call)) as never;
      },
    }),
    log: () => log,
    frameLimit: () => false,
  });
  const send = async (body: string | null, isBase64Encoded = false) => {
    const event = { requestContext: { routeKey: '$default', connectionId: 'c-1', eventType: 'MESSAGE' as const }, body, isBase64Encoded };
    const result = await handler(event, lambdaContext('ws-default'));
    expect(result.statusCode).toBe(200);
    return result.body === undefined ? null : (JSON.parse(result.body) as Record<string, unknown>);
  };
  return { calls, logged, send };
}

describe('the $default transport', () => {
  it('passes a known action, the whole frame and its reqId to the service, and wraps its fields as the ack', async () => {
    const h = harness(async () => ({ now: 'then' }));
    expect(await h.send('{"action":"ping","reqId":"r-1","extra":1}')).toEqual({ type: 'ack', reqId: 'r-1', now: 'then' });
    expect(h.calls).toEqual([{ connectionId: 'c-1', action: 'ping', body: { action: 'ping', reqId: 'r-1', extra: 1 }, reqId: 'r-1' }]);
  });

  it('decodes a base64 frame as API Gateway sends a binary one', async () => {
    const h = harness(async () => ({ now: 'then' }));
    expect(await h.send(Buffer.from('{"action":"ping","reqId":"b"}').toString('base64'), true)).toEqual({ type: 'ack', reqId: 'b', now: 'then' });
  });

  it('sends no route response when the service already answered over @connections', async () => {
    const h = harness(async () => null);
    expect(await h.send('{"action":"ping","reqId":"r"}')).toBeNull();
  });

  it.each([
    ['over 64 KiB, reqId read from the text', `{"reqId":"big","action":"message","text":"${'x'.repeat(64 * 1024)}"}`, 'PAYLOAD_TOO_LARGE', 'big'],
    ['not JSON', '{"action":"ping","reqId":"r"', 'BAD_JSON', undefined],
    ['empty', '', 'BAD_JSON', undefined],
    ['an array', '[{"action":"ping","reqId":"r"}]', 'VALIDATION', undefined],
    ['a string', '"ping"', 'VALIDATION', undefined],
    ['without an action', '{"reqId":"r"}', 'VALIDATION', 'r'],
    ['with a numeric action', '{"action":7,"reqId":"r"}', 'VALIDATION', 'r'],
    ['with an unknown action', '{"action":"toString","reqId":"r"}', 'UNKNOWN_ACTION', 'r'],
    ['with an over-long reqId', `{"action":"nope","reqId":"${'r'.repeat(129)}"}`, 'UNKNOWN_ACTION', undefined],
  ])('refuses a frame %s before the service sees it', async (_label, text, code, reqId) => {
    const h = harness(async () => ({ now: 'then' }));
    const reply = await h.send(text);
    expect(reply).toMatchObject({ type: 'error', code });
    expect(reply?.reqId).toBe(reqId);
    expect(h.calls).toEqual([]);
  });

  it('renders the service\'s own error with its code, message and the reqId, and logs nothing', async () => {
    const h = harness(async () => {
      throw new ForbiddenError('Not yours.');
    });
    expect(await h.send('{"action":"read","orderId":"o","seq":1,"reqId":"r"}')).toEqual({ type: 'error', reqId: 'r', code: 'FORBIDDEN', message: 'Not yours.' });
    expect(h.logged).toEqual([]);
  });

  it('answers an unexpected failure INTERNAL without its message, and logs it with the connection', async () => {
    const h = harness(async () => {
      throw new Error('socket hang up at 10.0.0.7');
    });
    const reply = await h.send('{"action":"ping","reqId":"r"}');
    expect(reply).toMatchObject({ type: 'error', reqId: 'r', code: 'INTERNAL' });
    expect(JSON.stringify(reply)).not.toContain('10.0.0.7');
    expect(h.logged).toHaveLength(1);
    expect(h.logged[0]).toMatchObject({ level: 'error', msg: 'frame failed', fields: { connectionId: 'c-1' } });
  });
});
