import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  ChannelPresenceDto,
  ChannelPresenceParams,
  UserPresenceDto,
  UserPresenceParams,
} from '@notify/contracts';
import { PresenceRepository } from '@notify/store';
import { IngestConfig } from '../config/ingest.config';

/**
 * Presence as the gateways record it in PostgreSQL (docs/architecture.md, "Presence"): members of
 * presence channels on live nodes, and the connections of users. Rows of a node whose heartbeat is
 * stale are not counted, so no dead node's member shows here.
 */
@ApiTags('presence')
@ApiBearerAuth()
@Controller('v1')
export class PresenceController {
  constructor(
    private readonly presence: PresenceRepository,
    private readonly config: IngestConfig,
  ) {}

  @Get('channels/:channel/presence')
  @ApiOkResponse({
    type: ChannelPresenceDto,
    description: 'Members of the channel on the live gateway nodes.',
  })
  @ApiResponse({ status: 400, description: 'Not a presence channel name; `errors` says why.' })
  @ApiResponse({ status: 401, description: 'Missing or unknown producer API key.' })
  @ApiResponse({ status: 503, description: 'Store unavailable: retry.' })
  async channel(@Param() params: ChannelPresenceParams): Promise<ChannelPresenceDto> {
    const members = await this.presence.channelMembers(
      params.channel,
      this.config.presenceStaleMs,
      this.config.presenceMaxMembers,
    );
    return { members };
  }

  @Get('users/:userId/presence')
  @ApiOkResponse({ type: UserPresenceDto, description: "The user's connections on the live gateway nodes." })
  @ApiResponse({ status: 400, description: 'Not a valid user id.' })
  @ApiResponse({ status: 401, description: 'Missing or unknown producer API key.' })
  @ApiResponse({ status: 503, description: 'Store unavailable: retry.' })
  async user(@Param() params: UserPresenceParams): Promise<UserPresenceDto> {
    return this.presence.userPresence(params.userId, this.config.nodeTtlMs);
  }
}
