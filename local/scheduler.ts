/**
 * The local stand-in for the EventBridge rule that runs the SLA sweep: a
 * timer every `WAYPOST_SWEEP_MS`. A run that outlasts the interval is not
 * overlapped by the next (in the cloud two could overlap; the sweep is safe
 * either way, see `SlaService`).
 */
import type { ScheduledEvent } from 'aws-lambda';
import type { Logger } from '../shared/runtime/log';

export const SCHEDULED_EVENT: ScheduledEvent = {
  version: '0',
  id: 'local-sweep',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: new Date(0).toISOString(),
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:000000000000:rule/waypost-sla-sweep'],
  detail: {},
};

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly everyMs: number,
    private readonly task: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.task()
        .catch((err: unknown) => this.log.error('scheduled sweep failed', { error: err }))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
