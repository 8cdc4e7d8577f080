/** Where group commit is chosen: WAYPOST_GROUP_COMMIT in config (the local runtime sets it), absent in a Lambda. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/runtime/config';

describe('WAYPOST_GROUP_COMMIT', () => {
  it('asks for group commit only when set to 1', () => {
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_GROUP_COMMIT: '1' }).groupCommit).toBe(true);
    expect('groupCommit' in loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_GROUP_COMMIT: '0' })).toBe(false);
    expect('groupCommit' in loadConfig({ WAYPOST_JWT_SECRET: 's' })).toBe(false);
  });

  it('names the variable when its value is neither 0 nor 1', () => {
    for (const bad of ['yes', 'true', '2']) {
      expect(() => loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_GROUP_COMMIT: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_GROUP_COMMIT: bad })).toThrow(/WAYPOST_GROUP_COMMIT/);
    }
  });
});
