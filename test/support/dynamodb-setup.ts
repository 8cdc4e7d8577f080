/** One in-memory DynamoDB Local for the whole integration run. */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import type { LocalCredentials } from '../../local/credentials';
import { startDynamoDbLocal } from '../../local/dynamodb';
import { freePort } from '../../local/free-port';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    /** The only credentials that see its tables (a random key per run). */
    dynamodbCredentials: LocalCredentials;
  }
}

export default async function setup(project: TestProject) {
  const dynamo = await startDynamoDbLocal({ port: await freePort() });
  project.provide('dynamodbEndpoint', dynamo.endpoint);
  project.provide('dynamodbCredentials', dynamo.credentials);
  return async () => {
    await dynamo.stop();
  };
}
