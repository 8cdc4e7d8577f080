/**
 * The StreamConsumer construct on its own: one event source mapping on the
 * function, with partial batch responses, bisect and the on-failure queue by
 * default, the filters as given, and no resource of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Code, Function as LambdaFunction, Runtime, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { StreamConsumer, type StreamConsumerProps } from '../../lib/stream-consumer';
import { TIMELINE_INSERT_FILTER } from '../../shared/store/stream-records';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function synth(props: Partial<Omit<StreamConsumerProps, 'fn' | 'table' | 'onFailure'>>) {
  const outdir = mkdtempSync(join(tmpdir(), 'waypost-cdk-'));
  outdirs.push(outdir);
  const stack = new Stack(new App({ outdir }), 'S');
  const table = new Table(stack, 'Orders', { partitionKey: { name: 'pk', type: AttributeType.STRING }, stream: StreamViewType.NEW_IMAGE });
  const fn = new LambdaFunction(stack, 'Fn', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
  const queue = new Queue(stack, 'Failures');
  const consumer = new StreamConsumer(stack, 'Consumer', { fn, table, onFailure: queue, filters: [], batchSize: 10, retryAttempts: 2, ...props });
  return { stack, template: Template.fromStack(stack), consumer, ids: { table: stack.getLogicalId(table.node.defaultChild as never), fn: stack.getLogicalId(fn.node.defaultChild as never), queue: stack.getLogicalId(queue.node.defaultChild as never) } };
}

describe('StreamConsumer', () => {
  it('maps the table stream to the function: partial failures, bisect, LATEST and the on-failure queue by default', () => {
    const { template, ids } = synth({ filters: [TIMELINE_INSERT_FILTER], maxRecordAge: Duration.minutes(10), maxBatchingWindow: Duration.seconds(0) });
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [ids.table, 'StreamArn'] },
      FunctionName: { Ref: ids.fn },
      StartingPosition: 'LATEST',
      BatchSize: 10,
      MaximumRetryAttempts: 2,
      MaximumRecordAgeInSeconds: 600,
      MaximumBatchingWindowInSeconds: 0,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(TIMELINE_INSERT_FILTER) }] },
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [ids.queue, 'Arn'] } } },
    });
  });

  it('lets the function send to the on-failure queue and read the stream', () => {
    const { template, ids } = synth({});
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('sqs:SendMessage');
    expect(policies).toContain('dynamodb:GetRecords');
    expect(policies).toContain(`"Fn::GetAtt":["${ids.queue}","Arn"]`);
  });

  it('takes each filter as its own pattern, none for no filter, and the settings it is given', () => {
    const heads = { eventName: ['MODIFY'] };
    const two = synth({ filters: [TIMELINE_INSERT_FILTER, heads], bisectBatchOnError: false, reportBatchItemFailures: false, startingPosition: StartingPosition.TRIM_HORIZON });
    two.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(TIMELINE_INSERT_FILTER) }, { Pattern: JSON.stringify(heads) }] },
      BisectBatchOnFunctionError: false,
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: Match.absent(),
    });
    synth({}).template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FilterCriteria: Match.absent() });
  });

  it('adds the mapping to the function, not under itself', () => {
    const { consumer } = synth({});
    expect(consumer.node.children).toHaveLength(0);
    expect(consumer.eventSource.eventSourceMappingId).toBeDefined();
  });
});
