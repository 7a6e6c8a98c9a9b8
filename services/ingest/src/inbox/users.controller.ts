import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ListNotificationsQueryDto, MarkReadDto, PreferencesDto, preferencesOf } from '@notify/contracts';
import { userIdParam } from './path-params';
import { PreferencesUseCase, type PreferencesView } from './preferences.use-case';
import { UserInboxUseCase, type InboxPage } from './user-inbox.use-case';

@ApiTags('inbox')
@ApiBearerAuth()
@ApiResponse({ status: 400, description: 'Validation failed; `errors` names every failing field.' })
@ApiResponse({ status: 401, description: 'Missing or unknown producer API key.' })
@ApiResponse({ status: 503, description: 'Store unavailable: retry.' })
@Controller('v1/users')
export class UsersController {
  constructor(
    private readonly inbox: UserInboxUseCase,
    private readonly preferences: PreferencesUseCase,
  ) {}

  @Get(':userId/notifications')
  @ApiResponse({
    status: 200,
    description:
      '`{items, nextBefore, unread}`: items as the `notification` frame carries them, newest first; ' +
      'expired and retracted ones are never listed.',
  })
  list(
    @Param('userId', userIdParam()) userId: string,
    @Query() query: ListNotificationsQueryDto,
  ): Promise<InboxPage> {
    return this.inbox.list(userId, query);
  }

  @Post(':userId/read')
  @HttpCode(200)
  @ApiResponse({
    status: 200,
    description: '`{ids, unread}`: the ids that turned read; every device of the user gets the `read` frame.',
  })
  @ApiResponse({ status: 404, description: 'An id is not a notification of this user.' })
  markRead(
    @Param('userId', userIdParam()) userId: string,
    @Body() dto: MarkReadDto,
  ): Promise<{ ids: string[]; unread: number }> {
    return this.inbox.markRead(userId, dto.ids ? { ids: dto.ids } : { upTo: dto.upTo ?? 0 });
  }

  @Get(':userId/preferences')
  @ApiResponse({ status: 200, description: '`{mutedTopics, quietHours, version}` (version 0: never set).' })
  getPreferences(@Param('userId', userIdParam()) userId: string): Promise<PreferencesView> {
    return this.preferences.get(userId);
  }

  @Put(':userId/preferences')
  @ApiResponse({
    status: 200,
    description:
      '`{mutedTopics, quietHours, version}`; every device of the user gets the `preferences` frame.',
  })
  setPreferences(
    @Param('userId', userIdParam()) userId: string,
    @Body() dto: PreferencesDto,
  ): Promise<PreferencesView> {
    return this.preferences.set(userId, preferencesOf(dto));
  }
}
