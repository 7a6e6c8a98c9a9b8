import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { DeadLetterPublisher } from './dead-letter.publisher';
import { IngestConsumer } from './ingest.consumer';

@Module({ imports: [NotificationsModule], controllers: [IngestConsumer], providers: [DeadLetterPublisher] })
export class AmqpTransportModule {}
