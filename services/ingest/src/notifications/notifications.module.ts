import { Module } from '@nestjs/common';
import { AcceptNotificationsUseCase } from './accept-notifications.use-case';
import { DeliveryPublisher } from './delivery.publisher';
import { NotificationsController } from './notifications.controller';

@Module({
  controllers: [NotificationsController],
  providers: [AcceptNotificationsUseCase, DeliveryPublisher],
  exports: [AcceptNotificationsUseCase, DeliveryPublisher],
})
export class NotificationsModule {}
