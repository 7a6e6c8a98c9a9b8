import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { IngestConfig } from '../config/ingest.config';
import { PusherChannelInfo, type Attributes, type ChannelInfo } from './channel-info.service';
import { PusherTerminatePublisher } from './terminate.publisher';
import { TriggerPusherEvents } from './trigger-events.use-case';
import { checkChannelName, parseBatch, parseInfo, parsePrefix, parseTriggerEvent } from './trigger-request';
import { CorrelationId } from '../infrastructure/correlation-id';
import { SignedBodyGuard } from './signed-body.guard';

const SIGNED =
  'Signed as Pusher signs requests: auth_key, auth_timestamp, auth_version=1.0, body_md5, auth_signature.';
const errors = [
  ApiResponse({ status: 400, description: 'Bad body, parameter or channel name (plain text).' }),
  ApiResponse({
    status: 401,
    description: 'Missing or bad signature, wrong key, stale timestamp, body_md5 mismatch.',
  }),
  ApiResponse({ status: 404, description: 'Unknown app id, or NOTIFY_PUSHER_APPS is empty.' }),
];
const eventSchema = {
  type: 'object',
  required: ['name', 'data'],
  properties: {
    name: { type: 'string', maxLength: 200 },
    data: { type: 'string', description: 'At most NOTIFY_PUSHER_MAX_EVENT_BYTES (10 KB) in UTF-8.' },
    channels: { type: 'array', items: { type: 'string' }, maxItems: 100 },
    channel: { type: 'string' },
    socket_id: { type: 'string', description: 'This socket does not receive the event.' },
    info: { type: 'string', description: 'Comma-separated: user_count, subscription_count.' },
  },
};
const authQuery = ['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature'].map((name) =>
  ApiQuery({ name, required: true }),
);

function decorate(...decorators: MethodDecorator[]): MethodDecorator {
  return (target, key, descriptor) => {
    for (const d of decorators) d(target, key, descriptor);
  };
}
const documented = (summary: string): MethodDecorator =>
  decorate(ApiOperation({ summary, description: SIGNED }), ...authQuery, ...errors);

/** Pusher's HTTP API (Channels), for the apps of NOTIFY_PUSHER_APPS; see docs/pusher.md. */
@ApiTags('pusher')
@Controller('apps/:appId')
@UseGuards(SignedBodyGuard)
export class PusherApiController {
  private readonly maxEventBytes: number;

  constructor(
    private readonly trigger: TriggerPusherEvents,
    private readonly info: PusherChannelInfo,
    private readonly terminate: PusherTerminatePublisher,
    config: IngestConfig,
  ) {
    this.maxEventBytes = config.pusher.maxEventBytes;
  }

  @Post('events')
  @HttpCode(200)
  @documented('Trigger an event on 1–100 channels')
  @ApiQuery({ name: 'body_md5', required: true })
  @ApiBody({ schema: eventSchema })
  @ApiResponse({ status: 200, description: '`{}`, or `{channels: {name: {…}}}` when `info` was given.' })
  @ApiResponse({ status: 413, description: '`data` over NOTIFY_PUSHER_MAX_EVENT_BYTES.' })
  async events(
    @Param('appId') appId: string,
    @Body() body: unknown,
    @CorrelationId() correlationId: string,
  ): Promise<{ channels?: Record<string, Attributes> }> {
    const event = parseTriggerEvent(body, this.maxEventBytes);
    const [channels] = await this.trigger.execute(appId, [event], correlationId);
    return event.info.length > 0 ? { channels } : {};
  }

  @Post('batch_events')
  @HttpCode(200)
  @documented('Trigger 1–10 events, each on one channel')
  @ApiQuery({ name: 'body_md5', required: true })
  @ApiBody({
    schema: { type: 'object', properties: { batch: { type: 'array', maxItems: 10, items: eventSchema } } },
  })
  @ApiResponse({
    status: 200,
    description: '`{}`, or `{batch: [{…}]}` (one per event) when an event asked for `info`.',
  })
  @ApiResponse({ status: 413, description: 'An event’s `data` over NOTIFY_PUSHER_MAX_EVENT_BYTES.' })
  async batch(
    @Param('appId') appId: string,
    @Body() body: unknown,
    @CorrelationId() correlationId: string,
  ): Promise<{ batch?: Attributes[] }> {
    const events = parseBatch(body, this.maxEventBytes);
    const answers = await this.trigger.execute(appId, events, correlationId);
    if (events.every((e) => e.info.length === 0)) return {};
    return { batch: answers.map((byChannel, i) => byChannel[events[i].channels[0]] ?? {}) };
  }

  @Get('channels')
  @documented('Occupied channels')
  @ApiQuery({ name: 'filter_by_prefix', required: false })
  @ApiQuery({
    name: 'info',
    required: false,
    description: 'user_count (needs filter_by_prefix=presence-), subscription_count',
  })
  @ApiResponse({ status: 200, description: '`{channels: {name: {user_count?, subscription_count?}}}`' })
  async channels(
    @Param('appId') appId: string,
    @Query('filter_by_prefix') prefix: unknown,
    @Query('info') info: unknown,
  ): Promise<{ channels: Record<string, Attributes> }> {
    const attributes = parseInfo(info, ['user_count', 'subscription_count'] as const);
    return { channels: await this.info.list(appId, parsePrefix(prefix), attributes) };
  }

  @Get('channels/:channel')
  @documented('One channel')
  @ApiQuery({
    name: 'info',
    required: false,
    description: 'user_count (presence), subscription_count, cache (cache channels)',
  })
  @ApiResponse({ status: 200, description: '`{occupied, user_count?, subscription_count?, cache?}`' })
  channel(
    @Param('appId') appId: string,
    @Param('channel') channel: string,
    @Query('info') info: unknown,
  ): Promise<ChannelInfo> {
    const attributes = parseInfo(info, ['user_count', 'subscription_count', 'cache'] as const);
    return this.info.channel(appId, checkChannelName(channel, 'channel'), attributes);
  }

  @Get('channels/:channel/users')
  @documented('Users of a presence channel')
  @ApiResponse({ status: 200, description: '`{users: [{id}]}`' })
  users(
    @Param('appId') appId: string,
    @Param('channel') channel: string,
  ): Promise<{ users: { id: string }[] }> {
    return this.info.users(appId, checkChannelName(channel, 'channel'));
  }

  @Post('users/:userId/terminate_connections')
  @HttpCode(200)
  @documented('Close every connection signed in as the user')
  @ApiQuery({ name: 'body_md5', required: true })
  @ApiResponse({ status: 200, description: '`{}`' })
  @ApiResponse({ status: 503, description: 'The broker did not confirm: retry.' })
  async terminateConnections(
    @Param('appId') appId: string,
    @Param('userId') userId: string,
  ): Promise<Record<string, never>> {
    await this.terminate.terminate(appId, userId);
    return {};
  }
}
