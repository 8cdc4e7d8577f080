/**
 * `SmsSender` in memory: records what SNS would have been asked to send,
 * answering a message id per SMS (`sms-1`, `sms-2`, …). `failNext(n)` makes
 * the next `n` sends throw, as SNS does when it refuses or times out; a
 * failed send records nothing.
 */
import type { SmsSender } from '../../../shared/store/sms-sender';

export interface SentSms {
  /** The phone number (a test's own; never logged). */
  readonly to: string;
  readonly text: string;
  readonly messageId: string;
}

export class RecordingSmsSender implements SmsSender {
  readonly sent: SentSms[] = [];
  /** Sends that threw (`failNext`). */
  failed = 0;
  private failing = 0;

  /** The next `times` sends throw. */
  failNext(times = 1): void {
    this.failing += times;
  }

  async send(to: string, text: string): Promise<string> {
    if (this.failing > 0) {
      this.failing--;
      this.failed++;
      throw new Error('SNS Publish failed (injected)');
    }
    const messageId = `sms-${this.sent.length + 1}`;
    this.sent.push({ to, text, messageId });
    return messageId;
  }
}
