/**
 * A stand-in for SNS's `Publish` (the AWS query protocol: a form-encoded
 * POST answered in XML), so the real `SNSClient` code runs locally with an
 * endpoint override. It sends nothing: it keeps an outbox that
 * `GET /_local/sms` lists, `[{to, message, messageId, at}]`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, type LocalRoute } from './gateway';

export interface SentSms {
  readonly to: string;
  readonly message: string;
  readonly messageId: string;
  readonly at: string;
}

export const SNS_PATH = '/_local/sns';
const MAX_KEPT = 10_000;

function xml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body).toString() });
  res.end(body);
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);
}

function senderError(res: ServerResponse, code: string, message: string): void {
  xml(
    res,
    400,
    `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(
      message,
    )}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 256 * 1024) throw new Error('request too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class SnsStandIn {
  private readonly sent: SentSms[] = [];

  outbox(): readonly SentSms[] {
    return this.sent;
  }

  /** The routes: the SNS endpoint and the outbox listing. */
  route(): LocalRoute {
    return async (req, res, url) => {
      if (url.pathname === '/_local/sms' && req.method === 'GET') {
        sendJson(res, 200, this.sent);
        return true;
      }
      if (url.pathname !== SNS_PATH && url.pathname !== `${SNS_PATH}/`) return false;
      if (req.method !== 'POST') {
        senderError(res, 'InvalidAction', 'Use POST.');
        return true;
      }
      const form = new URLSearchParams(await readText(req));
      const action = form.get('Action');
      if (action !== 'Publish') {
        senderError(res, 'InvalidAction', `The stand-in answers only Publish, not ${action ?? '(none)'}.`);
        return true;
      }
      const to = form.get('PhoneNumber');
      const message = form.get('Message');
      if (to === null || !/^\+[1-9]\d{6,14}$/.test(to)) {
        senderError(res, 'InvalidParameter', 'Invalid parameter: PhoneNumber Reason: must be E.164 (the stand-in sends only to phone numbers).');
        return true;
      }
      if (message === null || message.length === 0) {
        senderError(res, 'InvalidParameter', 'Invalid parameter: Message Reason: Empty message');
        return true;
      }
      const messageId = randomUUID();
      this.sent.push({ to, message, messageId, at: new Date().toISOString() });
      if (this.sent.length > MAX_KEPT) this.sent.shift();
      xml(
        res,
        200,
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
      );
      return true;
    };
  }
}
