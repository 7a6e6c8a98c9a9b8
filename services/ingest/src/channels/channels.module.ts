import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { ChannelsController } from './channels.controller';
import { PublishChannelMessageUseCase } from './publish-channel-message.use-case';

@Module({
  imports: [NotificationsModule],
  controllers: [ChannelsController],
  providers: [PublishChannelMessageUseCase],
  exports: [PublishChannelMessageUseCase],
})
export class ChannelsModule {}
