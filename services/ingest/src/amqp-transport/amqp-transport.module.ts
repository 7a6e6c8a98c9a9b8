import { Module } from '@nestjs/common';
import { ChannelsModule } from '../channels/channels.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { DeadLetterPublisher } from './dead-letter.publisher';
import { IngestConsumer } from './ingest.consumer';

@Module({
  imports: [NotificationsModule, ChannelsModule],
  controllers: [IngestConsumer],
  providers: [DeadLetterPublisher],
})
export class AmqpTransportModule {}
