import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { NotificationController } from './notification.controller';
import { NotificationUseCase } from './notification.use-case';
import { PreferencesUseCase } from './preferences.use-case';
import { UserInboxUseCase } from './user-inbox.use-case';
import { UsersController } from './users.controller';

/** The inbox for backends: pages, read state, retraction, receipts and preferences (HTTP). */
@Module({
  imports: [DeliveryModule],
  controllers: [UsersController, NotificationController],
  providers: [UserInboxUseCase, NotificationUseCase, PreferencesUseCase],
})
export class InboxModule {}
