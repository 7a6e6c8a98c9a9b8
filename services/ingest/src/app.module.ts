import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { AmqpTransportModule } from './amqp-transport/amqp-transport.module';
import { ChannelsModule } from './channels/channels.module';
import { ConfigModule } from './config/config.module';
import { MetricsModule } from './metrics/metrics.module';
import type { IngestConfig } from './config/ingest.config';
import { HealthModule } from './health/health.module';
import { ApiKeyMiddleware } from './http/api-key.middleware';
import { JsonBodyMiddleware } from './http/json-body.middleware';
import { AmqpModule } from './infrastructure/amqp.module';
import { DatabaseModule } from './infrastructure/database.module';
import { NotificationsModule } from './notifications/notifications.module';
import { PresenceModule } from './presence/presence.module';
import { RetentionModule } from './retention/retention.module';

@Module({})
export class AppModule implements NestModule {
  static forRoot(config: IngestConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        MetricsModule,
        AmqpModule,
        NotificationsModule,
        ChannelsModule,
        PresenceModule,
        AmqpTransportModule,
        HealthModule,
        RetentionModule,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // Order matters: authenticate before reading a body.
    consumer.apply(ApiKeyMiddleware, JsonBodyMiddleware).forRoutes('v1/*path');
  }
}
