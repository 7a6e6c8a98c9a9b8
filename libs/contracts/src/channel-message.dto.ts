import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsOptional, IsString, Length } from 'class-validator';
import { HasNoNulCharacter, IsChannelName, MaxJsonBytes } from './custom-validators';
import { MAX_DATA_BYTES, MAX_IDEMPOTENCY_KEY_LENGTH } from './send-notification.dto';

/** Body of `POST /v1/channels/{channel}/messages`. */
export class ChannelMessageDto {
  /** Any JSON value, delivered as is to every subscriber. */
  @ApiProperty({
    description: `Any JSON value, delivered as is; at most ${MAX_DATA_BYTES} bytes of JSON.`,
    example: { status: 'ok' },
  })
  @IsDefined({ message: 'data is required' })
  @MaxJsonBytes(MAX_DATA_BYTES)
  @HasNoNulCharacter()
  data!: unknown;

  /** Retrying with the same key within 24 h returns the first result and stores nothing new. */
  @ApiPropertyOptional({ minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH })
  @IsOptional()
  @IsString()
  @Length(1, MAX_IDEMPOTENCY_KEY_LENGTH)
  @HasNoNulCharacter()
  idempotencyKey?: string;
}

/** Body of AMQP messages routed `channel.<name>`; `channel` may be left out (it is in the key). */
export class AmqpChannelMessageDto extends ChannelMessageDto {
  @IsOptional()
  @IsString()
  @IsChannelName()
  channel?: string;
}
