import { JsonLogger } from '@notify/logging';
import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { AmqpTransportModule } from './amqp-transport/amqp-transport.module';
import { ChannelsModule } from './channels/channels.module';
import { ConfigModule } from './config/config.module';
import { MetricsModule } from './metrics/metrics.module';
import type { IngestConfig } from './config/ingest.config';
import { HealthModule } from './health/health.module';
import { InboxModule } from './inbox/inbox.module';
import { ApiKeyMiddleware } from './http/api-key.middleware';
import { CorrelationMiddleware } from './http/correlation.middleware';
import { requestLoggingModule } from './http/request-logging';
import { JsonOnlyMiddleware } from './http/json-only.middleware';
import { AmqpModule } from './infrastructure/amqp.module';
import { DatabaseModule } from './infrastructure/database.module';
import { NotificationsModule } from './notifications/notifications.module';
import { PusherModule } from './pusher/pusher.module';
import { PresenceModule } from './presence/presence.module';
import { RetentionModule } from './retention/retention.module';

@Module({})
export class AppModule implements NestModule {
  static forRoot(config: IngestConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        requestLoggingModule(new JsonLogger('ingest', { node: config.nodeId })),
        ConfigModule.forRoot(config),
        DatabaseModule,
        MetricsModule,
        AmqpModule,
        NotificationsModule,
        ChannelsModule,
        PusherModule,
        InboxModule,
        PresenceModule,
        AmqpTransportModule,
        HealthModule,
        RetentionModule,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // Order matters: the correlation id first (every later line carries it), authenticate before
    // reading a body.
    consumer.apply(CorrelationMiddleware, ApiKeyMiddleware, JsonOnlyMiddleware).forRoutes('v1/*path');
  }
}
