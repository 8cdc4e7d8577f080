/**
 * A `WebSocketLike` whose server side is the test, for the SDK's unit tests:
 * it opens on the next tick, answers each request frame with `reply(frame,
 * n)` (n: how many frames it has been sent, this one included; undefined:
 * no answer), echoing the frame's `reqId`, and `push` sends a server push.
 */
import type { WebSocketLike } from '../../web/sdk/client';

/** A request frame as the fake reads it. */
export interface SentFrame {
  readonly action: string;
  readonly reqId: string;
  readonly room?: string;
  readonly sinceSeq?: number;
}

export class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: SentFrame[] = [];

  constructor(private readonly reply: (frame: SentFrame, n: number) => Record<string, unknown> | undefined) {
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }

  send(data: string): void {
    const frame = JSON.parse(data) as SentFrame;
    this.sent.push(frame);
    const answer = this.reply(frame, this.sent.length);
    if (answer !== undefined) this.push({ ...answer, reqId: frame.reqId });
  }

  push(frame: Record<string, unknown>): void {
    setTimeout(() => this.onmessage?.({ data: JSON.stringify(frame) }), 0);
  }

  close(code = 1000): void {
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code }), 0);
  }
}
