import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { assertIngestTopology, connectAmqp } from '@notify/amqp';
import { IngestConfig } from '../config/ingest.config';

export const AMQP_CONNECTION = Symbol('AMQP_CONNECTION');
/** Confirm channel for everything ingest publishes (deliveries and dead letters). */
export const PUBLISH_CHANNEL = Symbol('PUBLISH_CHANNEL');

@Global()
@Module({
  providers: [
    {
      provide: AMQP_CONNECTION,
      inject: [IngestConfig],
      useFactory: (config: IngestConfig): AmqpConnectionManager =>
        connectAmqp({ url: config.amqpUrl, connectionName: `notify-ingest ${config.nodeId}` }),
    },
    {
      provide: PUBLISH_CHANNEL,
      inject: [AMQP_CONNECTION, IngestConfig],
      useFactory: (connection: AmqpConnectionManager, config: IngestConfig): ChannelWrapper =>
        connection.createChannel({
          name: 'publish',
          confirm: true,
          publishTimeout: config.publishTimeoutMs,
          // Re-run on every reconnect, so a broker that lost its definitions gets them back.
          setup: (channel: ConfirmChannel) => assertIngestTopology(channel),
        }),
    },
  ],
  exports: [AMQP_CONNECTION, PUBLISH_CHANNEL],
})
export class AmqpModule implements OnApplicationShutdown {
  constructor(
    @Inject(AMQP_CONNECTION) private readonly connection: AmqpConnectionManager,
    @Inject(PUBLISH_CHANNEL) private readonly channel: ChannelWrapper,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.channel.close();
    await this.connection.close();
  }
}
