/**
 * An SMS that SNS refuses is counted as the EMF metric the SLA alarm reads
 * (Waypost/SmsFailed by service and stage); a sent one counts nothing.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { countingSmsFailures, emfSmsMetrics, NO_SMS_METRICS, SMS_FAILED_METRIC } from '../../shared/runtime/metrics';
import type { SmsSender } from '../../shared/store/sms-sender';

/** Lines written to stdout while `run` runs (Powertools writes EMF there). */
async function stdoutOf(run: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    await run().catch(() => undefined);
  } finally {
    spy.mockRestore();
  }
  return lines;
}

const refusing: SmsSender = { send: async () => Promise.reject(new Error('OptedOut: +15550100001')) };
const accepting: SmsSender = { send: async () => 'msg-1' };

describe('SMS failures as an EMF metric', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a refused send writes one EMF line: Waypost/SmsFailed = 1 Count, by service and stage; the error goes on unchanged', async () => {
    // Arrange
    const sender = countingSmsFailures(refusing, emfSmsMetrics('prod'));
    let thrown: unknown;

    // Act
    const lines = await stdoutOf(() => sender.send('+15550100001', 'hi').catch((err: unknown) => { thrown = err; }));

    // Assert
    expect((thrown as Error).message).toBe('OptedOut: +15550100001');
    expect(lines).toHaveLength(1);
    const emf = JSON.parse(lines[0] ?? '{}') as Record<string, unknown> & { _aws: { CloudWatchMetrics: unknown[]; Timestamp: number } };
    expect(emf._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'Waypost', Dimensions: [['service', 'stage']], Metrics: [{ Name: 'SmsFailed', Unit: 'Count' }] },
    ]);
    expect(emf).toMatchObject({ SmsFailed: 1, service: 'sla-sweep', stage: 'prod' });
    expect(typeof emf._aws.Timestamp).toBe('number');
    expect(lines[0]).not.toContain('0100001');
    expect(SMS_FAILED_METRIC.name).toBe('SmsFailed');
  });

  it('each refusal is its own line (nothing waits for a flush)', async () => {
    const sender = countingSmsFailures(refusing, emfSmsMetrics('prod'));
    const lines = await stdoutOf(async () => {
      await sender.send('+1', 'a').catch(() => undefined);
      await sender.send('+1', 'b').catch(() => undefined);
    });
    expect(lines.map((l) => (JSON.parse(l) as { SmsFailed: number }).SmsFailed)).toEqual([1, 1]);
  });

  it('a sent SMS writes nothing and returns the message id', async () => {
    const sender = countingSmsFailures(accepting, emfSmsMetrics('prod'));
    let id: string | undefined;
    const lines = await stdoutOf(async () => {
      id = await sender.send('+15550100001', 'hi');
    });
    expect(id).toBe('msg-1');
    expect(lines).toEqual([]);
  });

  it('without a stage (the local runtime) a refusal writes nothing to stdout', async () => {
    const sender = countingSmsFailures(refusing, NO_SMS_METRICS);
    const lines = await stdoutOf(() => sender.send('+15550100001', 'hi'));
    expect(lines).toEqual([]);
  });
});
