import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsDefined,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  HISTORY_PAGE_DEFAULT,
  HISTORY_PAGE_MAX,
  MAX_MUTED_TOPICS,
  QUIET_HOURS_TIME_PATTERN,
  type Preferences,
} from '@notify/protocol';
import { DiffersFrom, IsAbsentWith, IsTimeZone, IsTopicPattern } from './custom-validators';

/** Ids per `POST /v1/users/{userId}/read`, as in the device's `read` frame. */
export const MAX_READ_IDS = 256;

/**
 * The largest seq a request may name: a safe integer, as the gateway's frames take it. Above it a
 * JSON number is no longer exact, and from 2^63 PostgreSQL's bigint refuses it (a 500, not a 400).
 */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;
const BEFORE_MESSAGE = `before must be a seq (integer from 1 to ${MAX_SEQ})`;
const UP_TO_MESSAGE = `upTo must be a seq (integer from 0 to ${MAX_SEQ})`;

const toNumber = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?[0-9]+$/.test(value) ? Number(value) : value;
const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

/** Query of `GET /v1/users/{userId}/notifications`. */
export class ListNotificationsQueryDto {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_SEQ,
    description: 'Only notifications with a lower seq (the last page’s nextBefore).',
  })
  @IsOptional()
  @Transform(toNumber)
  @IsInt({ message: BEFORE_MESSAGE })
  @Min(1, { message: BEFORE_MESSAGE })
  @Max(MAX_SEQ, { message: BEFORE_MESSAGE })
  before?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: HISTORY_PAGE_MAX, default: HISTORY_PAGE_DEFAULT })
  @IsOptional()
  @Transform(toNumber)
  @IsInt({ message: `limit must be an integer from 1 to ${HISTORY_PAGE_MAX}` })
  @Min(1, { message: `limit must be an integer from 1 to ${HISTORY_PAGE_MAX}` })
  @Max(HISTORY_PAGE_MAX, { message: `limit must be an integer from 1 to ${HISTORY_PAGE_MAX}` })
  limit?: number;

  @ApiPropertyOptional({ type: Boolean, description: 'Only those counted in `unread`.' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'unreadOnly must be true or false' })
  unreadOnly?: boolean;

  @ApiPropertyOptional({
    example: 'order.*',
    description: 'A topic exactly, or `prefix.*` for every topic below it.',
  })
  @IsOptional()
  @IsString()
  @IsTopicPattern()
  topic?: string;
}

/** Body of `POST /v1/users/{userId}/read`: exactly one of `ids` and `upTo`. */
export class MarkReadDto {
  @ApiPropertyOptional({ type: [String], maxItems: MAX_READ_IDS, description: 'Notification ids (UUIDs).' })
  @ValidateIf((o: MarkReadDto) => o.upTo === undefined || o.ids !== undefined)
  @IsDefined({ message: 'ids or upTo is required (exactly one of them)' })
  @IsAbsentWith('upTo', { message: 'give ids or upTo, not both' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_READ_IDS)
  @ArrayUnique()
  @IsUUID('all', { each: true, message: 'each ids entry must be a notification id (UUID)' })
  ids?: string[];

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_SEQ,
    description: 'Every notification with a seq up to this one.',
  })
  @ValidateIf((o: MarkReadDto) => o.upTo !== undefined)
  @IsInt({ message: UP_TO_MESSAGE })
  @Min(0, { message: UP_TO_MESSAGE })
  @Max(MAX_SEQ, { message: UP_TO_MESSAGE })
  upTo?: number;
}

export class QuietHoursDto {
  @ApiProperty({ example: '22:00', pattern: QUIET_HOURS_TIME_PATTERN.source })
  @IsString()
  @Matches(QUIET_HOURS_TIME_PATTERN, { message: 'start must be HH:MM (00:00–23:59)' })
  start!: string;

  @ApiProperty({ example: '07:00', pattern: QUIET_HOURS_TIME_PATTERN.source })
  @IsString()
  @Matches(QUIET_HOURS_TIME_PATTERN, { message: 'end must be HH:MM (00:00–23:59)' })
  @DiffersFrom('start', { message: 'end must differ from start' })
  end!: string;

  @ApiProperty({ example: 'Europe/Berlin', description: 'An IANA time zone.' })
  @IsString()
  @IsTimeZone()
  timeZone!: string;
}

/** Body of `PUT /v1/users/{userId}/preferences` (the whole set is replaced). */
export class PreferencesDto {
  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_MUTED_TOPICS,
    example: ['marketing.*', 'digest.weekly'],
    description: 'Topics, or `prefix.*` for every topic below a prefix; default none.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_MUTED_TOPICS)
  @ArrayUnique()
  @IsString({ each: true })
  @IsTopicPattern({ each: true })
  mutedTopics?: string[];

  @ApiPropertyOptional({ type: QuietHoursDto, nullable: true, description: 'null (the default): none.' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => QuietHoursDto)
  quietHours?: QuietHoursDto | null;
}

/** The preferences a valid body stands for (absent fields are their defaults). */
export function preferencesOf(dto: PreferencesDto): Preferences {
  const q = dto.quietHours;
  return {
    mutedTopics: dto.mutedTopics ?? [],
    quietHours: q ? { start: q.start, end: q.end, timeZone: q.timeZone } : null,
  };
}
