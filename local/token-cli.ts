/**
 * `npm run token -- --tenant T --role R --sub S [--retailer X] [--ttl 3600]`:
 * prints one local token and nothing else (CONTRACT §2).
 */
import { parseArgs } from 'node:util';
import { claimsSchema, roleSchema } from '../shared/domain/schemas';
import { signLocalToken } from '../shared/runtime/auth';
import { DEFAULT_JWT_SECRET } from './config';

const usage = 'usage: npm run token -- --tenant T --role driver|retailer|dispatcher --sub S [--retailer X] [--ttl 3600]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      role: { type: 'string' },
      sub: { type: 'string' },
      retailer: { type: 'string' },
      ttl: { type: 'string' },
    },
    strict: true,
  });
  if (values.tenant === undefined || values.role === undefined || values.sub === undefined) throw new Error(usage);
  const role = roleSchema.safeParse(values.role);
  if (!role.success) throw new Error(`--role must be driver, retailer or dispatcher\n${usage}`);
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new Error(`--ttl must be a positive whole number of seconds\n${usage}`);
  if (role.data === 'retailer' && values.retailer === undefined) throw new Error(`--retailer is required for a retailer token\n${usage}`);
  const claims = claimsSchema.safeParse({
    tenant: values.tenant,
    role: role.data,
    sub: values.sub,
    ...(values.retailer !== undefined && { retailerId: values.retailer }),
    exp: Math.floor(Date.now() / 1000) + ttl,
  });
  if (!claims.success) {
    const issue = claims.error.issues[0];
    const flag = { tenant: '--tenant', sub: '--sub', retailerId: '--retailer', exp: '--ttl' }[String(issue?.path[0])] ?? String(issue?.path[0]);
    throw new Error(`${flag} ${issue?.message ?? 'is invalid'}\n${usage}`);
  }
  const token = await signLocalToken(process.env.WAYPOST_JWT_SECRET?.trim() || DEFAULT_JWT_SECRET, {
    tenant: values.tenant,
    role: role.data,
    sub: values.sub,
    ...(values.retailer !== undefined && { retailerId: values.retailer }),
    ttlSeconds: ttl,
  });
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
