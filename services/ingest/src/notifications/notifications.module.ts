import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { AcceptNotificationsUseCase } from './accept-notifications.use-case';
import { NotificationsController } from './notifications.controller';

@Module({
  imports: [DeliveryModule],
  controllers: [NotificationsController],
  providers: [AcceptNotificationsUseCase],
  exports: [AcceptNotificationsUseCase],
})
export class NotificationsModule {}
