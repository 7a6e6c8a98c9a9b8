import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { SendNotificationDto } from '@notify/contracts';
import { IngestMetrics } from '../metrics/ingest-metrics';
import { AcceptNotificationsUseCase, type AcceptedNotification } from './accept-notifications.use-case';

@ApiTags('notifications')
@ApiBearerAuth()
@Controller('v1/notifications')
export class NotificationsController {
  constructor(
    private readonly accept: AcceptNotificationsUseCase,
    private readonly metrics: IngestMetrics,
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
  ): Promise<{ results: Omit<AcceptedNotification, 'duplicate'>[] }> {
    const stop = this.metrics.acceptSeconds.startTimer({ transport: 'http' });
    const results = await this.accept.execute(dto);
    stop();
    const duplicates = results.filter((r) => r.duplicate).length;
    this.metrics.accepted.inc({ transport: 'http', kind: 'notification' }, results.length - duplicates);
    if (duplicates) this.metrics.duplicates.inc({ transport: 'http', kind: 'notification' }, duplicates);
    return { results: results.map(({ userId, id, seq }) => ({ userId, id, seq })) };
  }
}
