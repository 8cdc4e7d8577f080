import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvCell, TIMELINE_CSV_COLUMNS, TimelineCsvWriter, timelineToCsv } from '../../shared/domain/csv';
import { responseBytes } from '../../shared/domain/payload';
import type { OrderEvent } from '../../shared/domain/model';
import { T0, T1 } from './fixtures';
import { parseCsv } from '../support/csv';


function column(row: readonly string[] | undefined, name: (typeof TIMELINE_CSV_COLUMNS)[number]): string | undefined {
  return row?.[TIMELINE_CSV_COLUMNS.indexOf(name)];
}

const created: OrderEvent = {
  orderId: 'ord-1',
  seq: 1,
  kind: 'created',
  at: T0,
  actor: { sub: 'ret-user-a', role: 'retailer' },
  status: 'created',
  retailerId: 'ret-A',
  recipientName: 'Ada',
  destination: { address: '1 Main St' },
};
const checkpoint: OrderEvent = {
  orderId: 'ord-1',
  seq: 2,
  kind: 'checkpoint',
  at: T1,
  actor: { sub: 'drv-1', role: 'driver' },
  eventId: 'e1',
  status: 'delivered',
  previousStatus: 'out_for_delivery',
  statusChanged: true,
  occurredAt: '2024-05-01T09:29:00+02:00',
  location: { lat: -33.8688, lng: 151.2093, accuracyM: 5 },
  note: 'left with "Bob", at door 3,\nback yard',
  proof: { recipientType: 'neighbor', recipientName: '=HYPERLINK("http://evil")' },
};

describe('timelineToCsv', () => {
  it('starts with the header row and ends every line with CRLF', () => {
    // Act
    const csv = timelineToCsv([]);

    // Assert
    expect(csv).toBe(`${TIMELINE_CSV_COLUMNS.join(',')}\r\n`);
    expect(TIMELINE_CSV_COLUMNS.slice(0, 5)).toEqual(['seq', 'at', 'kind', 'actor_sub', 'actor_role']);
  });

  it('writes one row per event, in the order given, each as wide as the header', () => {
    // Act
    const rows = parseCsv(timelineToCsv([created, checkpoint]));

    // Assert
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toHaveLength(TIMELINE_CSV_COLUMNS.length);
    expect(column(rows[1], 'seq')).toBe('1');
    expect(column(rows[1], 'kind')).toBe('created');
    expect(column(rows[1], 'status')).toBe('created');
    expect(column(rows[2], 'seq')).toBe('2');
  });

  it('writes a checkpoint’s fields, and commas, quotes and newlines survive a round trip', () => {
    // Act
    const rows = parseCsv(timelineToCsv([checkpoint]));
    const row = rows[1];

    // Assert
    expect(column(row, 'status')).toBe('delivered');
    expect(column(row, 'previous_status')).toBe('out_for_delivery');
    expect(column(row, 'occurred_at')).toBe('2024-05-01T09:29:00+02:00');
    expect(column(row, 'lat')).toBe('-33.8688');
    expect(column(row, 'lng')).toBe('151.2093');
    expect(column(row, 'accuracy_m')).toBe('5');
    expect(column(row, 'note')).toBe('left with "Bob", at door 3,\nback yard');
    expect(column(row, 'recipient_type')).toBe('neighbor');
    expect(column(row, 'actor_sub')).toBe('drv-1');
    expect(column(row, 'actor_role')).toBe('driver');
  });

  it('defuses a formula in any free-text cell', () => {
    // Act
    const row = parseCsv(timelineToCsv([checkpoint]))[1];

    // Assert
    expect(column(row, 'recipient_name')).toBe(`'=HYPERLINK("http://evil")`);
  });

  it('describes an attachment-only message in the text column', () => {
    // Arrange
    const msg: OrderEvent = {
      orderId: 'ord-1',
      seq: 3,
      kind: 'message',
      at: T1,
      actor: { sub: 'drv-1', role: 'driver' },
      messageId: 'm1',
      attachment: { kind: 'image', key: 'photos/1.jpg', name: 'door.jpg' },
    };

    // Act
    const row = parseCsv(timelineToCsv([msg]))[1];

    // Assert
    expect(column(row, 'text')).toBe('[image] door.jpg');
  });

  it('writes assignment, read and alert columns', () => {
    // Arrange
    const actor = { sub: 'disp-1', role: 'dispatcher' } as const;
    const events: OrderEvent[] = [
      { orderId: 'o', seq: 2, kind: 'assigned', at: T1, actor, driverId: 'drv-2' },
      { orderId: 'o', seq: 3, kind: 'read', at: T1, actor, readSeq: 2 },
      { orderId: 'o', seq: 4, kind: 'alert', at: T1, actor: { sub: 'system', role: 'system' }, alertId: 'al-1', level: 2, state: 'open', status: 'packed', stuckSeconds: 99 },
    ];

    // Act
    const rows = parseCsv(timelineToCsv(events));

    // Assert
    expect(column(rows[1], 'driver_id')).toBe('drv-2');
    expect(column(rows[2], 'read_seq')).toBe('2');
    expect(column(rows[3], 'alert_id')).toBe('al-1');
    expect(column(rows[3], 'level')).toBe('2');
    expect(column(rows[3], 'state')).toBe('open');
    expect(column(rows[3], 'status')).toBe('packed');
    expect(column(rows[3], 'actor_role')).toBe('system');
  });
});

describe('timelineToCsv: the late column (CONTRACT §3)', () => {
  it('is the last column: true on a late checkpoint, false on any other checkpoint, empty on other kinds', () => {
    // Arrange
    const late: OrderEvent = { ...checkpoint, seq: 3, status: 'in_transit', previousStatus: 'at_hub', statusChanged: false, late: true };

    // Act
    const rows = parseCsv(timelineToCsv([created, checkpoint, late]));

    // Assert
    expect(TIMELINE_CSV_COLUMNS.at(-1)).toBe('late');
    expect(rows[0]?.at(-1)).toBe('late');
    expect(column(rows[1], 'late')).toBe('');
    expect(column(rows[2], 'late')).toBe('false');
    expect(column(rows[3], 'late')).toBe('true');
    expect(column(rows[3], 'status')).toBe('in_transit');
    expect(column(rows[3], 'previous_status')).toBe('at_hub');
  });
});

describe('csvCell', () => {
  it.each([
    [undefined, ''],
    ['plain', 'plain'],
    [42, '42'],
    [-33.5, '-33.5'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line1\nline2', '"line1\nline2"'],
    ['line1\r\nline2', '"line1\r\nline2"'],
    ['', ''],
  ] as [string | number | undefined, string][])('%j -> %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it.each([
    ['=1+1', `"'=1+1"`],
    ['+15550100001', `"'+15550100001"`],
    ['-2+3', `"'-2+3"`],
    ['@SUM(A1:A2)', `"'@SUM(A1:A2)"`],
    ['\tcmd', `"'\tcmd"`],
    ['\rcmd', `"'\rcmd"`],
    ['\ncmd', `"'\ncmd"`],
    ['\u0000=1+1', `"'\u0000=1+1"`],
    ['\u0000', `"'\u0000"`],
  ])('a text cell starting with a formula character is prefixed with a quote and quoted: %j -> %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it("neutralises every character of OWASP's list (= + - @ tab CR), NUL, every other C0 control and DEL, and nothing else in ASCII", () => {
    const owasp = ['=', '+', '-', '@', '\t', '\r'];
    const controls = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).concat('\u007f');
    for (const first of new Set([...owasp, '\u0000', '\n', ...controls])) {
      const cell = csvCell(`${first}HYPERLINK("http://evil")`);
      expect(cell.startsWith(`"'${first}`), JSON.stringify(first)).toBe(true);
      expect(parseCsv(`${cell}\r\n`)[0], JSON.stringify(first)).toEqual([`'${first}HYPERLINK("http://evil")`]);
    }
    for (let code = 0x20; code < 0x7f; code++) {
      const first = String.fromCharCode(code);
      if (owasp.includes(first)) continue;
      // Read back unchanged: no prefix.
      expect(parseCsv(`${csvCell(`${first}x`)}\r\n`)[0], JSON.stringify(first)).toEqual([`${first}x`]);
    }
  });

  it('neutralises a NUL-led note in a whole timeline row', () => {
    const nul = { ...checkpoint, note: '\u0000=cmd|"/c calc"!A1' };
    expect(column(parseCsv(timelineToCsv([nul]))[1], 'note')).toBe(`'\u0000=cmd|"/c calc"!A1`);
  });

  it('writes numbers as they are, a negative one included', () => {
    expect(csvCell(-74)).toBe('-74');
  });

  it('leaves formula characters alone when they are not first', () => {
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell('x@y')).toBe('x@y');
  });

  it('any string reads back as itself, save the formula prefix', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }), (s) => {
        // Act
        const parsed = parseCsv(`${csvCell(s)}\r\n`)[0] ?? [''];

        // Assert
        const expected = /^[=+\-@\u0000-\u001f\u007f]/.test(s) ? `'${s}` : s;
        expect(parsed).toEqual([expected]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('TimelineCsvWriter: one part under a byte budget', () => {
  const message = (seq: number, text: string): OrderEvent => ({
    orderId: 'ord-1',
    seq,
    kind: 'message',
    at: T1,
    actor: { sub: 'drv-1', role: 'driver' },
    messageId: `m${seq}`,
    text,
  });
  const header = `${TIMELINE_CSV_COLUMNS.join(',')}\r\n`;

  it('takes rows while they fit and refuses the first that does not, adding nothing', () => {
    const events = Array.from({ length: 10 }, (_, i) => message(i + 1, `text ${i + 1}`));
    const oneRow = responseBytes(timelineToCsv([events[0]!])) - responseBytes(header);
    const part = new TimelineCsvWriter(responseBytes(header) + 3 * oneRow + 2);
    const taken = events.filter((e) => part.add(e));
    expect(taken.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(part.rows).toBe(3);
    expect(part.add(events[9]!)).toBe(false);
    expect(part.text()).toBe(timelineToCsv(events.slice(0, 3)));
    expect(part.bytes).toBe(responseBytes(part.text()));
  });

  it('counts bytes as a Lambda response does: a quote costs 4 (doubled in CSV, escaped in JSON), a 3-byte character 3', () => {
    const quotes = message(1, '"'.repeat(100));
    const part = new TimelineCsvWriter(10_000);
    part.add(quotes);
    expect(part.bytes).toBe(responseBytes(timelineToCsv([quotes])));
    expect(part.bytes - responseBytes(timelineToCsv([message(1, 'x'.repeat(100))]))).toBeGreaterThanOrEqual(300);
    const euro = new TimelineCsvWriter(10_000);
    euro.add(message(1, '€'.repeat(100)));
    expect(euro.bytes - responseBytes(timelineToCsv([message(1, 'x'.repeat(100))]))).toBe(200);
  });

  it('always takes the first row, even over the budget, so a part never comes back empty', () => {
    const part = new TimelineCsvWriter(1);
    expect(part.add(message(1, 'a long text'))).toBe(true);
    expect(part.add(message(2, 'b'))).toBe(false);
    expect(parseCsv(part.text())).toHaveLength(2);
  });

  it('cut anywhere, the parts hold every row once, in order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 60 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 2000 }), (texts, budget) => {
        const events = texts.map((t, i) => message(i + 1, t));
        const seqs: number[] = [];
        let i = 0;
        while (i < events.length) {
          const part = new TimelineCsvWriter(budget);
          while (i < events.length && part.add(events[i]!)) i++;
          expect(part.rows).toBeGreaterThan(0);
          if (part.rows > 1) expect(part.bytes).toBeLessThanOrEqual(budget);
          const [head, ...rows] = parseCsv(part.text());
          expect(head).toEqual([...TIMELINE_CSV_COLUMNS]);
          seqs.push(...rows.map((r) => Number(r[0])));
        }
        expect(seqs).toEqual(events.map((e) => e.seq));
      }),
      { numRuns: 200, seed: 5 },
    );
  });
});
