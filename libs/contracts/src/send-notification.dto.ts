import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsDefined,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import {
  PRIORITIES,
  TOPIC_MAX_LENGTH,
  TOPIC_PATTERN,
  USER_ID_PATTERN,
  type Priority,
} from '@notify/protocol';
import { HasNoNulCharacter, IsAbsentWith, MaxJsonBytes } from './custom-validators';
import type { FieldError } from './validation';

export const MAX_RECIPIENTS = 1000;
export const MAX_TITLE_LENGTH = 256;
export const MAX_BODY_LENGTH = 4096;
export const MAX_DATA_BYTES = 16 * 1024;
export const MAX_TTL_SECONDS = 30 * 24 * 3600;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const USER_ID_MESSAGE = 'must be 1-128 characters of letters, digits and _@:+.=-';

/** Body of `POST /v1/notifications` and of AMQP messages routed `notification.<topic>`. */
export class SendNotificationDto {
  /** One recipient. Exactly one of userId and userIds is given. */
  @ApiPropertyOptional({
    description: 'One recipient; give userId or userIds, not both.',
    pattern: USER_ID_PATTERN.source,
    example: 'alice',
  })
  @ValidateIf((o: SendNotificationDto) => o.userIds === undefined || o.userId !== undefined)
  @IsDefined({ message: 'userId or userIds is required (exactly one of them)' })
  @IsAbsentWith('userIds', { message: 'give userId or userIds, not both' })
  @IsString()
  @Matches(USER_ID_PATTERN, { message: `userId ${USER_ID_MESSAGE}` })
  userId?: string;

  /** Several recipients (at most 1000); each gets its own copy and seq. */
  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_RECIPIENTS,
    uniqueItems: true,
    description: 'Several recipients, each gets its own copy and seq.',
  })
  @ValidateIf((o: SendNotificationDto) => o.userIds !== undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_RECIPIENTS)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(USER_ID_PATTERN, { each: true, message: `each userIds entry ${USER_ID_MESSAGE}` })
  userIds?: string[];

  /** Dot-separated words, e.g. `order.shipped`. */
  @ApiProperty({ pattern: TOPIC_PATTERN.source, maxLength: TOPIC_MAX_LENGTH, example: 'order.shipped' })
  @IsString()
  @MaxLength(TOPIC_MAX_LENGTH)
  @Matches(TOPIC_PATTERN, { message: 'topic must be dot-separated words of letters, digits, _ and -' })
  topic!: string;

  @ApiPropertyOptional({ maxLength: MAX_TITLE_LENGTH, example: 'Your order shipped' })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_TITLE_LENGTH)
  @HasNoNulCharacter()
  title?: string;

  @ApiPropertyOptional({ maxLength: MAX_BODY_LENGTH })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_BODY_LENGTH)
  @HasNoNulCharacter()
  body?: string;

  /** Free-form JSON object delivered as is. */
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: `Delivered as is; at most ${MAX_DATA_BYTES} bytes of JSON.`,
  })
  @IsOptional()
  @IsObject()
  @MaxJsonBytes(MAX_DATA_BYTES)
  @HasNoNulCharacter()
  data?: Record<string, unknown>;

  /** Retrying with the same key within 24 h returns the first result and stores nothing new. */
  @ApiPropertyOptional({
    minLength: 1,
    maxLength: MAX_IDEMPOTENCY_KEY_LENGTH,
    description: 'Retries with the same key within 24 h return the first result and store nothing new.',
  })
  @IsOptional()
  @IsString()
  @Length(1, MAX_IDEMPOTENCY_KEY_LENGTH)
  @HasNoNulCharacter()
  idempotencyKey?: string;

  /** After this many seconds the notification is neither delivered nor replayed. */
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_TTL_SECONDS })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TTL_SECONDS)
  ttlSeconds?: number;

  /** `critical` bypasses the user's muted topics and quiet hours. */
  @ApiPropertyOptional({
    enum: PRIORITIES,
    default: 'normal',
    description: "`critical` is never silenced by the user's muted topics or quiet hours.",
  })
  @IsOptional()
  @IsIn(PRIORITIES, { message: 'priority must be "normal" or "critical"' })
  priority?: Priority;
}

export function recipientsOf(dto: SendNotificationDto): string[] {
  return dto.userIds ?? (dto.userId !== undefined ? [dto.userId] : []);
}

/**
 * The deployment's own cap on `userIds` (NOTIFY_MAX_RECIPIENTS, at most MAX_RECIPIENTS, which the
 * decorators check): a field error in the shape validation gives, or null when within it.
 */
export function recipientLimitError(dto: SendNotificationDto, maxRecipients: number): FieldError | null {
  if ((dto.userIds?.length ?? 0) <= maxRecipients) return null;
  return { field: 'userIds', messages: [`userIds must contain no more than ${maxRecipients} elements`] };
}
