/**
 * Invoking a Lambda handler in this process, with a Lambda-shaped context,
 * the way the Lambda runtime would.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** A Lambda handler: its result `R`, or nothing (an async handler that returns nothing resolves to undefined). */
export type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R | void> | R | void;

/** Lambda's default timeout for our functions: middy's early-timeout signal reads it. */
const TIMEOUT_MS = 30_000;

export function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + TIMEOUT_MS;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export async function invoke<E, R>(handler: LambdaHandler<E, R>, event: E, functionName = 'waypost-local'): Promise<R> {
  return (await handler(event, lambdaContext(functionName))) as R;
}
