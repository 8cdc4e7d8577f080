/**
 * The SLA sweep, run every minute by EventBridge (locally by a timer): opens
 * alerts for stalled stays and fires due escalation levels.
 */
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import type { SweepReport } from '../../shared/services/sla-service';
import { logger, slaService, type App } from '../common/wiring';

/** The sweep over an app's parts (the module's `handler`: the default app's). */
export function slaSweepHandler({ logger, slaService }: Pick<App, 'logger' | 'slaService'>) {
  async function sweep(_event: ScheduledEvent): Promise<SweepReport> {
    const report = await slaService().sweep();
    if (report.due > 0 || report.failed > 0) logger().info('sla sweep', { ...report });
    return report;
  }

  return middy(sweep);
}

export const handler = slaSweepHandler({ logger, slaService });
