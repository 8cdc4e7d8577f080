/**
 * The timeline as CSV (RFC 4180). Cells that a spreadsheet would run as a
 * formula are prefixed with `'`, so an exported note cannot execute. A cell
 * that does not apply to a row's kind is empty; `late` is `true` or `false`
 * on every checkpoint row (CONTRACT §3) and empty on the others. New columns
 * are added at the end, so readers that go by position keep working.
 */
import type { OrderEvent } from './model';

export const TIMELINE_CSV_COLUMNS = [
  'seq',
  'at',
  'kind',
  'actor_sub',
  'actor_role',
  'status',
  'previous_status',
  'occurred_at',
  'lat',
  'lng',
  'accuracy_m',
  'note',
  'reason',
  'recipient_type',
  'recipient_name',
  'text',
  'driver_id',
  'read_seq',
  'alert_id',
  'level',
  'state',
  'late',
] as const;

type Column = (typeof TIMELINE_CSV_COLUMNS)[number];

function cells(e: OrderEvent): Partial<Record<Column, string | number | undefined>> {
  const base = { seq: e.seq, at: e.at, kind: e.kind, actor_sub: e.actor.sub, actor_role: e.actor.role };
  switch (e.kind) {
    case 'created':
      return { ...base, status: e.status };
    case 'assigned':
      return { ...base, driver_id: e.driverId };
    case 'checkpoint':
      return {
        ...base,
        status: e.status,
        previous_status: e.previousStatus,
        occurred_at: e.occurredAt,
        lat: e.location?.lat,
        lng: e.location?.lng,
        accuracy_m: e.location?.accuracyM,
        note: e.note,
        reason: e.reason,
        recipient_type: e.proof?.recipientType,
        recipient_name: e.proof?.recipientName,
        late: e.late === true ? 'true' : 'false',
      };
    case 'message':
      return { ...base, text: e.text ?? (e.attachment ? `[${e.attachment.kind}] ${e.attachment.name ?? e.attachment.key ?? ''}`.trim() : '') };
    case 'read':
      return { ...base, read_seq: e.readSeq };
    case 'alert':
      return { ...base, status: e.status, alert_id: e.alertId, level: e.level, state: e.state };
  }
}

export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The events as CSV: a header row of `TIMELINE_CSV_COLUMNS`, then one row per event in the order given; CRLF line ends. */
export function timelineToCsv(events: readonly OrderEvent[]): string {
  const lines = [TIMELINE_CSV_COLUMNS.join(',')];
  for (const e of events) {
    const row = cells(e);
    lines.push(TIMELINE_CSV_COLUMNS.map((c) => csvCell(row[c])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
