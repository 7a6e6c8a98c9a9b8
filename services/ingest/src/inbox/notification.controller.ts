import { Controller, Delete, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { notificationIdParam, optionalUserIdQuery } from './path-params';
import { NotificationUseCase, type NotificationDetails, type RetractResult } from './notification.use-case';

const USER_SCOPE = {
  name: 'userId',
  required: false,
  description: "When given, another user's notification is a 404.",
} as const;

@ApiTags('inbox')
@ApiBearerAuth()
@ApiResponse({ status: 400, description: '`id` is not a UUID, or `userId` is not a user id.' })
@ApiResponse({ status: 401, description: 'Missing or unknown producer API key.' })
@ApiResponse({ status: 404, description: 'No such notification (or expired, or not this userId’s).' })
@ApiResponse({ status: 503, description: 'Store unavailable: retry.' })
@Controller('v1/notifications')
export class NotificationController {
  constructor(private readonly notifications: NotificationUseCase) {}

  @Get(':id')
  @ApiQuery(USER_SCOPE)
  @ApiResponse({
    status: 200,
    description:
      'The notification as the `notification` frame carries it, plus `userId`, `retracted` and ' +
      '`deliveries: [{deviceId, deliveredAt, ackedAt}]` (first written to / first acked by each device).',
  })
  details(
    @Param('id', notificationIdParam()) id: string,
    @Query('userId', optionalUserIdQuery()) userId?: string,
  ): Promise<NotificationDetails> {
    return this.notifications.details(id, userId);
  }

  @Delete(':id')
  @ApiQuery(USER_SCOPE)
  @ApiResponse({
    status: 200,
    description:
      '`{id, userId, seq, retracted: true, unread}`. Idempotent: retracting again answers the same and ' +
      'changes nothing. Devices get `retracted`; replays carry the seq without content.',
  })
  retract(
    @Param('id', notificationIdParam()) id: string,
    @Query('userId', optionalUserIdQuery()) userId?: string,
  ): Promise<RetractResult> {
    return this.notifications.retract(id, userId);
  }
}
