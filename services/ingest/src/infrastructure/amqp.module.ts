import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { connectAmqp } from '@notify/amqp';
import { JsonLogger } from '@notify/logging';
import { IngestConfig } from '../config/ingest.config';
import { IngestTopology } from './ingest-topology';

export const AMQP_CONNECTION = Symbol('AMQP_CONNECTION');
/** Confirm channel for everything ingest publishes (deliveries and dead letters). */
export const PUBLISH_CHANNEL = Symbol('PUBLISH_CHANNEL');

@Global()
@Module({
  providers: [
    IngestTopology,
    {
      provide: AMQP_CONNECTION,
      inject: [IngestConfig],
      useFactory: (config: IngestConfig): AmqpConnectionManager =>
        connectAmqp({ url: config.amqpUrl, connectionName: `notify-ingest ${config.nodeId}` }),
    },
    {
      provide: PUBLISH_CHANNEL,
      inject: [AMQP_CONNECTION, IngestConfig, IngestTopology],
      useFactory: (
        connection: AmqpConnectionManager,
        config: IngestConfig,
        topology: IngestTopology,
      ): ChannelWrapper => {
        const log = new JsonLogger('ingest', { component: 'amqp' });
        // Not ready from the disconnect on: after a reconnect the connection is up a moment before the
        // setup below has declared anything again.
        connection.on('disconnect', () => topology.declaring());
        const channel = connection.createChannel({
          name: 'publish',
          confirm: true,
          publishTimeout: config.publishTimeoutMs,
          // Re-run on every reconnect, so a broker that lost its definitions gets them back.
          setup: (ch: ConfirmChannel) => topology.declareOn(ch, log),
        });
        // Without a listener the wrapper's 'error' event would crash the process with a stack trace.
        // It reports what failed outside the setup: a channel it could not open (the topology stays
        // undeclared until the next connection), or a publish its send loop threw on (which then
        // times out, and its caller retries). Neither is a refused topology, so neither marks it failed.
        channel.on('error', (err: Error) => {
          log.error('the AMQP publish channel reported an error', { error: err });
        });
        return channel;
      },
    },
  ],
  exports: [AMQP_CONNECTION, PUBLISH_CHANNEL, IngestTopology],
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
