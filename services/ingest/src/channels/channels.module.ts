import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { ChannelsController } from './channels.controller';
import { PublishChannelMessageUseCase } from './publish-channel-message.use-case';

@Module({
  imports: [DeliveryModule],
  controllers: [ChannelsController],
  providers: [PublishChannelMessageUseCase],
  exports: [PublishChannelMessageUseCase],
})
export class ChannelsModule {}
