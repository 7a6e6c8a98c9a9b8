import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { recipientLimitError, SendNotificationDto } from '@notify/contracts';
import { IngestConfig } from '../config/ingest.config';
import { CorrelationId } from '../infrastructure/correlation-id';
import { AcceptNotificationsUseCase, type AcceptedNotification } from './accept-notifications.use-case';

@ApiTags('notifications')
@ApiBearerAuth()
@Controller('v1/notifications')
export class NotificationsController {
  constructor(
    private readonly accept: AcceptNotificationsUseCase,
    private readonly config: IngestConfig,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiResponse({ status: 202, description: 'Committed: `{results:[{userId, id, seq}]}`, one per recipient.' })
  @ApiResponse({ status: 400, description: 'Validation failed; `errors` lists every failing field.' })
  @ApiResponse({ status: 401, description: 'Missing or unknown producer API key.' })
  @ApiResponse({ status: 413, description: 'Body over NOTIFY_BODY_LIMIT_BYTES.' })
  @ApiResponse({ status: 415, description: 'Not application/json.' })
  @ApiResponse({ status: 503, description: 'Store unavailable: retry with the same idempotencyKey.' })
  async send(
    @Body() dto: SendNotificationDto,
    @CorrelationId() correlationId: string,
  ): Promise<{ results: Omit<AcceptedNotification, 'duplicate'>[] }> {
    const overLimit = recipientLimitError(dto, this.config.maxRecipients);
    if (overLimit) throw new BadRequestException({ message: 'validation failed', errors: [overLimit] });
    const results = await this.accept.execute(dto, { transport: 'http', correlationId });
    return { results: results.map(({ userId, id, seq }) => ({ userId, id, seq })) };
  }
}
