import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ChannelMessageDto } from '@notify/contracts';
import { CorrelationId } from '../infrastructure/correlation-id';
import { ChannelNamePipe } from './channel-name.pipe';
import {
  PublishChannelMessageUseCase,
  type AcceptedChannelMessage,
} from './publish-channel-message.use-case';

@ApiTags('channels')
@ApiBearerAuth()
@Controller('v1/channels')
export class ChannelsController {
  constructor(private readonly publish: PublishChannelMessageUseCase) {}

  @Post(':channel/messages')
  @HttpCode(202)
  @ApiResponse({ status: 202, description: 'Committed: `{id, offset}`.' })
  @ApiResponse({ status: 400, description: 'Bad channel name or body; `errors` lists every failing field.' })
  @ApiResponse({ status: 401, description: 'Missing or unknown producer API key.' })
  @ApiResponse({ status: 413, description: 'Body over NOTIFY_BODY_LIMIT_BYTES.' })
  @ApiResponse({ status: 415, description: 'Not application/json.' })
  @ApiResponse({ status: 503, description: 'Store unavailable: retry with the same idempotencyKey.' })
  async send(
    @Param('channel', new ChannelNamePipe()) channel: string,
    @Body() dto: ChannelMessageDto,
    @CorrelationId() correlationId: string,
  ): Promise<Omit<AcceptedChannelMessage, 'duplicate'>> {
    const { id, offset } = await this.publish.execute(channel, dto.data, {
      transport: 'http',
      idempotencyKey: dto.idempotencyKey,
      correlationId,
    });
    return { id, offset };
  }
}
