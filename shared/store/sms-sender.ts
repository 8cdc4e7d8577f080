/**
 * Sending an SMS. The SNS implementation publishes straight to a phone number;
 * locally the same client talks to the runtime's SNS stand-in.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';

export interface SmsSender {
  /** Returns the provider's message id. */
  send(to: string, text: string): Promise<string>;
}

export class SnsSmsSender implements SmsSender {
  constructor(
    private readonly client: SNSClient,
    private readonly senderId?: string,
  ) {}

  async send(to: string, text: string): Promise<string> {
    const res = await this.client.send(
      new PublishCommand({
        PhoneNumber: to,
        Message: text,
        MessageAttributes: {
          'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
          ...(this.senderId !== undefined && { 'AWS.SNS.SMS.SenderID': { DataType: 'String', StringValue: this.senderId } }),
        },
      }),
    );
    if (res.MessageId === undefined) throw new Error('SNS Publish returned no MessageId');
    return res.MessageId;
  }
}
