import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { ChannelOccupancyRepository, PresenceRepository, type Db } from '@notify/store';
import { ChannelsModule } from '../channels/channels.module';
import { DATABASE } from '../infrastructure/database.module';
import { PusherChannelInfo } from './channel-info.service';
import { PresenceMembers, StoredPresenceMembers } from './presence-members';
import { PusherApiController } from './pusher-api.controller';
import { PusherRequestMiddleware } from './pusher-request.middleware';
import { PusherTerminatePublisher } from './terminate.publisher';
import { TriggerPusherEvents } from './trigger-events.use-case';
import { PusherWebhookConsumer } from './webhook.consumer';
import { PusherWebhookSources } from './webhook-sources.service';

/** Pusher's HTTP API under /apps/{appId}/ (docs/pusher.md). */
@Module({
  imports: [ChannelsModule],
  controllers: [PusherApiController],
  providers: [
    TriggerPusherEvents,
    PusherChannelInfo,
    PusherTerminatePublisher,
    PusherWebhookConsumer,
    PusherWebhookSources,
    { provide: PresenceMembers, useClass: StoredPresenceMembers },
    { provide: PresenceRepository, inject: [DATABASE], useFactory: (db: Db) => new PresenceRepository(db) },
    {
      provide: ChannelOccupancyRepository,
      inject: [DATABASE],
      useFactory: (db: Db) => new ChannelOccupancyRepository(db),
    },
  ],
})
export class PusherModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Every path under /apps/, matched or not: without apps each one is a 404, with them unsigned is a 401.
    consumer.apply(PusherRequestMiddleware).forRoutes('apps/*path');
  }
}
