/**
 * `npm start`: the local runtime, in the foreground. Prints
 * `Waypost ready at http://127.0.0.1:<port>` and the demo tokens when every
 * part is up; Ctrl-C (or SIGTERM) stops everything, DynamoDB Local included.
 */
import { ConfigError, logLevelFrom } from '../shared/runtime/config';
import { createLogger, setLogSink } from '../shared/runtime/log';
import { loadLocalConfig } from './config';
import { CREDENTIALS_BANNER } from './credentials';
import { startRuntime, type Runtime } from './runtime';

async function main(): Promise<void> {
  const cfg = loadLocalConfig();
  // Handler logs are JSON lines on stderr; stdout is for people.
  setLogSink((line) => process.stderr.write(`${line}\n`), logLevelFrom());
  const log = createLogger({ service: 'waypost-local' });
  const where = cfg.inMemory ? 'in memory' : `in ${cfg.dataDir}`;
  process.stdout.write(`Starting Waypost (database ${where}) ...\n`);

  let runtime: Runtime | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      process.stdout.write('Forced exit.\n');
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`\n${signal}: stopping Waypost ...\n`);
    await runtime?.stop();
    process.stdout.write('Stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  runtime = await startRuntime(cfg, log);
  if (stopping) return;
  const lines = [
    '',
    runtime.seeded ? 'Seeded the demo tenant "demo".' : '',
    runtime.demoUsers.length > 0 ? 'Demo users (tokens valid 12 h; `npm run token` mints others):' : '',
    ...runtime.demoUsers.map((u) => `  ${u.label.padEnd(34)} ${u.token}`),
    '',
    `  WebSocket  ws://127.0.0.1:${runtime.port}/ws?token=<token>`,
    `  HTTP API   http://127.0.0.1:${runtime.port}/api`,
    runtime.bundlesDir !== undefined ? `  Handlers   the deployed esbuild bundles, built in ${runtime.bundlesDir}` : '',
    `  DynamoDB Local on port ${runtime.dynamodbPort} (reachable from the network: see README, security)`,
    // The path only (the line ends with it): DynamoDB Local's key and the @connections signing secret.
    `  ${CREDENTIALS_BANNER}${runtime.credentialsFile}`,
    '',
    `Waypost ready at ${runtime.url}`,
    '',
  ].filter((l, i, all) => l !== '' || all[i - 1] !== '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
