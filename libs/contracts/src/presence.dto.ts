import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PRESENCE_CHANNEL_PREFIX, USER_ID_PATTERN } from '@notify/protocol';
import { IsString, Matches } from 'class-validator';
import { IsChannelName } from './custom-validators';

/** Path of `GET /v1/channels/{channel}/presence`. */
export class ChannelPresenceParams {
  @ApiProperty({ example: 'presence.room-42', description: 'A presence channel (`presence.…`).' })
  @IsString()
  @IsChannelName()
  @Matches(/^presence\./, { message: `channel must be a presence channel (${PRESENCE_CHANNEL_PREFIX}…)` })
  channel!: string;
}

/** Path of `GET /v1/users/{userId}/presence`. */
export class UserPresenceParams {
  @ApiProperty({ example: 'user-1' })
  @IsString()
  @Matches(USER_ID_PATTERN, { message: 'userId must be 1-128 characters of A-Z a-z 0-9 _ @ : + . = -' })
  userId!: string;
}

export class PresenceMemberDto {
  @ApiProperty({ example: 'user-1' })
  userId!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: "The `info` claim of the user's token (of one of its nodes when they differ).",
    example: { name: 'Ada' },
  })
  info?: Record<string, unknown>;

  @ApiProperty({ description: 'Connections of the user subscribed to the channel, on every live node.' })
  connections!: number;
}

export class ChannelPresenceDto {
  @ApiProperty({ type: [PresenceMemberDto], description: 'Sorted by userId.' })
  members!: PresenceMemberDto[];
}

export class UserPresenceDto {
  @ApiProperty({ description: 'Whether the user has a connection on a live gateway node.' })
  online!: boolean;

  @ApiProperty({ description: "The user's connections on every live node." })
  connections!: number;

  @ApiProperty({
    type: [String],
    description: 'Devices with at least one connection, sorted.',
    example: ['phone'],
  })
  devices!: string[];
}
