import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, redact, setLogLevel, setLogSink } from '../../shared/runtime/log';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkcnYtMSIsInRlbmFudCI6ImFjbWUifQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

describe('redact: strings', () => {
  it.each([
    ['call +15550100001 now', 'call [phone] now'],
    ['call +1 555 010 0001 now', 'call [phone] now'],
    ['call +44 (20) 7946-0958.', 'call [phone].'],
  ])('masks the phone number in %j', (input, expected) => {
    // Act
    const out = redact(input);

    // Assert
    expect(out).toBe(expected);
  });

  it.each([
    '2024-05-01T10:00:00.000Z',
    'ord-12345678',
    'seq 000000001234',
  ])('leaves times and ids alone: %j', (input) => {
    expect(redact(input)).toBe(input);
  });

  it('does not leak a phone number or JWT through an error stack', () => {
    // Arrange
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln';
    const err = new Error(`bad token ${jwt} for +15550100001`);

    // Act
    const out = JSON.stringify(redact({ error: err }));

    // Assert
    expect(out).not.toContain('+15550100001');
    expect(out).not.toContain(jwt);
    expect(out).toContain('[phone]');
  });

  it('masks a JWT, wherever it sits in the string', () => {
    // Act
    const bearer = redact(`Bearer ${JWT}`);
    const url = redact(`/ws?token=${JWT}&x=1`);

    // Assert
    expect(bearer).toBe('Bearer [jwt]');
    expect(url).toBe('/ws?token=[jwt]&x=1');
  });

  it('masks every occurrence, not only the first', () => {
    // Act
    const out = redact(`+15550100001 and +15550100002 and ${JWT} and ${JWT}`);

    // Assert
    expect(out).toBe('[phone] and [phone] and [jwt] and [jwt]');
  });

  it('leaves ordinary text and short numbers alone', () => {
    // Act + Assert
    expect(redact('order ord-1 moved to at_hub, seq 42')).toBe('order ord-1 moved to at_hub, seq 42');
    expect(redact('level 3 after 900 seconds')).toBe('level 3 after 900 seconds');
  });

  it('passes numbers, booleans, null and undefined through', () => {
    expect(redact(42)).toBe(42);
    expect(redact(true)).toBe(true);
    expect(redact(null)).toBeNull();
    expect(redact(undefined)).toBeUndefined();
  });
});

describe('redact: sensitive keys', () => {
  it.each(['phone', 'recipientPhone', 'token', 'accessToken', 'secret', 'jwtSecret', 'authorization', 'Authorization', 'password', 'to', 'TO'])(
    'replaces the value under %j',
    (key) => {
      // Act
      const out = redact({ [key]: 'harmless-looking', other: 'kept' });

      // Assert
      expect(out).toEqual({ [key]: '[redacted]', other: 'kept' });
    },
  );

  it('replaces whole objects and arrays under a sensitive key', () => {
    // Act
    const out = redact({ to: ['+15550100001', '+15550100002'], secret: { nested: 'x' } });

    // Assert
    expect(out).toEqual({ to: '[redacted]', secret: '[redacted]' });
  });

  it('only an exact "to" is sensitive, not keys merely containing it', () => {
    // Act
    const out = redact({ town: 'Springfield', total: 3, topic: 'x' });

    // Assert
    expect(out).toEqual({ town: 'Springfield', total: 3, topic: 'x' });
  });
});

describe('redact: structure', () => {
  it('walks nested objects and arrays', () => {
    // Arrange
    const input = {
      order: { recipient: { name: 'Ada', phone: '+15550100001' }, notes: ['call +15550100001', 'ok'] },
      headers: { authorization: `Bearer ${JWT}` },
      sms: [{ to: '+15550100002', message: 'stuck' }],
    };

    // Act
    const out = redact(input);

    // Assert
    expect(out).toEqual({
      order: { recipient: { name: 'Ada', phone: '[redacted]' }, notes: ['call [phone]', 'ok'] },
      headers: { authorization: '[redacted]' },
      sms: [{ to: '[redacted]', message: 'stuck' }],
    });
  });

  it('does not modify its input', () => {
    // Arrange
    const input = { phone: '+15550100001', note: 'call +15550100001' };

    // Act
    redact(input);

    // Assert
    expect(input).toEqual({ phone: '+15550100001', note: 'call +15550100001' });
  });

  it('stops at a depth limit instead of walking forever', () => {
    // Arrange
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20; i++) deep = { next: deep };

    // Act
    const out = JSON.stringify(redact(deep));

    // Assert
    expect(out).toContain('[deep]');
    expect(out).not.toContain('bottom');
  });

  it('turns an Error into name, redacted message and a short stack', () => {
    // Arrange
    const err = new TypeError(`bad token ${JWT} for +15550100001`);

    // Act
    const out = redact({ error: err }) as { error: { name: string; message: string; stack?: string } };

    // Assert
    expect(out.error.name).toBe('TypeError');
    expect(out.error.message).toBe('bad token [jwt] for [phone]');
    expect(typeof out.error.stack).toBe('string');
    expect(out.error.stack?.split('\n').length).toBeLessThanOrEqual(6);
  });
});

describe('createLogger', () => {
  const lines: string[] = [];
  afterEach(() => {
    lines.length = 0;
  });

  function capture(level: 'debug' | 'info' | 'warn' | 'error'): void {
    setLogSink((line) => lines.push(line), level);
  }

  it('writes one JSON line with level, msg, time and redacted fields', () => {
    // Arrange
    capture('debug');
    const log = createLogger({ fn: 'http' });

    // Act
    log.info('order created', { orderId: 'ord-1', phone: '+15550100001', note: 'call +15550100001' });

    // Assert
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'info', msg: 'order created', fn: 'http', orderId: 'ord-1', phone: '[redacted]', note: 'call [phone]' });
    expect(typeof entry['time']).toBe('string');
    expect(lines[0]).not.toContain('0100001');
  });

  it('a child logger carries its parent’s fields, redacted too', () => {
    // Arrange
    capture('debug');
    const child = createLogger({ fn: 'ws' }).child({ token: JWT, connectionId: 'c1' });

    // Act
    child.warn('slow');

    // Assert
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'warn', fn: 'ws', connectionId: 'c1', token: '[redacted]' });
    expect(lines[0]).not.toContain(JWT);
  });

  it('a field named like one of the line\'s own keys never replaces it, and stays visible as field_<key>', () => {
    // Arrange
    capture('debug');
    const log = createLogger({ service: 'waypost' });

    // Act: the SMS failure line passes the escalation level as `level`
    log.error('sla sms failed; will retry', { level: 2, time: 'yesterday', msg: 'other', alertId: 'a1' });

    // Assert
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'error', msg: 'sla sms failed; will retry', field_level: 2, field_time: 'yesterday', field_msg: 'other', alertId: 'a1' });
    expect(Number.isNaN(Date.parse(String(entry['time'])))).toBe(false);
  });

  it('the logger\'s base fields win over a call\'s fields and a child\'s, which are kept as field_<key>', () => {
    // Arrange
    capture('debug');
    const log = createLogger({ service: 'waypost' });

    // Act
    log.info('one', { service: 'spoofed', field_service: 'taken' });
    log.child({ service: 'child', level: 'debug' }).warn('two', { fn: 'x' });

    // Assert
    const [one, two] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(one).toMatchObject({ service: 'waypost', field_service: 'taken', field_field_service: 'spoofed' });
    expect(two).toMatchObject({ level: 'warn', service: 'waypost', field_service: 'child', field_level: 'debug', fn: 'x' });
  });

  it('a renamed field is redacted as under its own name, and msg is redacted too', () => {
    // Arrange
    capture('debug');
    const log = createLogger({ to: 'ops' });

    // Act
    log.info('texting +15550100001', { to: '+15550100002' });

    // Assert
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ msg: 'texting [phone]', to: '[redacted]', field_to: '[redacted]' });
    expect(lines[0]).not.toContain('0100001');
    expect(lines[0]).not.toContain('0100002');
  });

  it('drops lines below the threshold', () => {
    // Arrange
    capture('warn');
    const log = createLogger();

    // Act
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');

    // Assert
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['w', 'e']);
  });
});

describe('createLogger over Powertools Logger', () => {
  const lines: string[] = [];
  afterEach(() => {
    lines.length = 0;
    setLogSink((line) => lines.push(line), 'info');
  });

  it('keeps fields named like Powertools\' own keys, empty values and a __proto__ key, in one line and no warning', () => {
    // Arrange
    setLogSink((line) => lines.push(line), 'debug');
    const log = createLogger();
    const fields = JSON.parse('{"message":"m","service":"s","timestamp":"t","sampling_rate":1,"note":"","gone":null,"__proto__":{"x":1}}') as Record<string, unknown>;

    // Act
    log.info('powertools keys', fields);

    // Assert
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'info', msg: 'powertools keys', message: 'm', service: 's', timestamp: 't', sampling_rate: 1, note: '', gone: null });
    expect(Object.hasOwn(entry, '__proto__')).toBe(true);
    expect(Object.keys(entry).slice(0, 3)).toEqual(['time', 'level', 'msg']);
  });

  it('setLogLevel moves the level of every logger, ones made before included', () => {
    // Arrange
    setLogSink((line) => lines.push(line), 'debug');
    const log = createLogger();

    // Act
    setLogLevel('error');
    log.warn('dropped');
    log.error('kept');
    setLogLevel('debug');
    log.debug('kept too');

    // Assert
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['kept', 'kept too']);
  });

  it('does not read WAYPOST_LOG_LEVEL when loaded: the level is info until set', async () => {
    // Arrange: a fresh copy of the module, loaded while the variable says error
    const before = process.env['WAYPOST_LOG_LEVEL'];
    process.env['WAYPOST_LOG_LEVEL'] = 'error';
    vi.resetModules();
    try {
      const fresh = await import('../../shared/runtime/log');
      const out: string[] = [];
      fresh.setLogSink((line) => out.push(line));

      // Act
      fresh.createLogger().info('still here');

      // Assert
      expect(out.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['still here']);
    } finally {
      if (before === undefined) delete process.env['WAYPOST_LOG_LEVEL'];
      else process.env['WAYPOST_LOG_LEVEL'] = before;
    }
  });

  it('writes time in UTC ISO 8601 whatever TZ says', () => {
    // Arrange
    setLogSink((line) => lines.push(line), 'debug');
    const before = process.env['TZ'];
    process.env['TZ'] = 'Asia/Tokyo';
    try {
      // Act
      createLogger().info('tz');
    } finally {
      if (before === undefined) delete process.env['TZ'];
      else process.env['TZ'] = before;
    }

    // Assert
    expect((JSON.parse(lines[0] ?? '{}') as { time: string }).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
