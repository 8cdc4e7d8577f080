/**
 * The timeline as CSV (RFC 4180). Cells that a spreadsheet would run as a
 * formula are neutralised (`csvCell`), so an exported note cannot execute. A
 * cell that does not apply to a row's kind is empty; `late` is `true` or
 * `false` on every checkpoint row (CONTRACT §3) and empty on the others. New
 * columns are added at the end, so readers that go by position keep working.
 * A long timeline is written in parts, each under a byte budget
 * (`TimelineCsvWriter`).
 */
import type { OrderEvent } from './model';
import { responseBytes } from './payload';

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

/**
 * A first character that makes a spreadsheet read a cell as a formula, or
 * that it may strip before looking: OWASP's list, `=`, `+`, `-`, `@`, tab
 * (0x09) and carriage return (0x0D) (OWASP, "CSV Injection",
 * https://owasp.org/www-community/attacks/CSV_Injection), NUL (0x00, added
 * by OWASP ASVS 5.0 requirement 1.2.10), and every other C0 control
 * character (line feed included) and DEL, which no timeline text needs to
 * start with.
 */
export const CSV_FORMULA_START = /^[=+\-@\u0000-\u001f\u007f]/;

/**
 * One CSV cell. A text cell that starts with a `CSV_FORMULA_START`
 * character is prefixed with `'` and quoted, as OWASP's CSV Injection page
 * advises (https://owasp.org/www-community/attacks/CSV_Injection: prepend a
 * single quote, wrap the cell in double quotes, double every double quote);
 * numbers are written as they are (a negative latitude stays a number). Any
 * other cell is quoted only when RFC 4180 needs it (a comma, quote, CR or LF).
 */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const s = String(value);
  const quote = (text: string) => `"${text.replace(/"/g, '""')}"`;
  if (typeof value === 'string' && CSV_FORMULA_START.test(s)) return quote(`'${s}`);
  return /[",\r\n]/.test(s) ? quote(s) : s;
}

/** One event's CSV line, CRLF included. */
function csvLine(e: OrderEvent): string {
  const row = cells(e);
  return `${TIMELINE_CSV_COLUMNS.map((c) => csvCell(row[c])).join(',')}\r\n`;
}

const HEADER_LINE = `${TIMELINE_CSV_COLUMNS.join(',')}\r\n`;

/** The events as CSV: a header row of `TIMELINE_CSV_COLUMNS`, then one row per event in the order given; CRLF line ends. */
export function timelineToCsv(events: readonly OrderEvent[]): string {
  return HEADER_LINE + events.map(csvLine).join('');
}

/**
 * One part of a timeline's CSV, written under a byte budget: the header row,
 * then rows as long as they fit. The budget counts what the part costs in a
 * Lambda response (`responseBytes`: UTF-8 after JSON escaping, which doubles
 * a quote), so a part always fits the response whatever its text. The first
 * row is taken even when it alone is over the budget, so every part moves on.
 */
export class TimelineCsvWriter {
  private readonly lines: string[] = [HEADER_LINE];
  private used: number;
  private taken = 0;

  /** @param budgetBytes the most this part may cost, in `responseBytes`. */
  constructor(private readonly budgetBytes: number) {
    this.used = responseBytes(HEADER_LINE);
  }

  /** Add the event's row if it fits; false (and nothing added) when the part is full. */
  add(e: OrderEvent): boolean {
    const line = csvLine(e);
    const cost = responseBytes(line);
    if (this.taken > 0 && this.used + cost > this.budgetBytes) return false;
    this.lines.push(line);
    this.used += cost;
    this.taken++;
    return true;
  }

  /** Rows added so far (the header not counted). */
  get rows(): number {
    return this.taken;
  }

  /** What the part costs so far, in `responseBytes`. */
  get bytes(): number {
    return this.used;
  }

  /** The part as CSV text. */
  text(): string {
    return this.lines.join('');
  }
}
