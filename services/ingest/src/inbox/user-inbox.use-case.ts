import { Injectable, NotFoundException } from '@nestjs/common';
import { HISTORY_PAGE_DEFAULT, type NotificationPayload } from '@notify/protocol';
import { InboxRepository, toContentPayload, type ReadSelector } from '@notify/store';
import { DeliveryPublisher } from '../delivery/delivery.publisher';

export interface InboxPage {
  items: NotificationPayload[];
  nextBefore: number | null;
  unread: number;
}

export interface ListQuery {
  before?: number;
  limit?: number;
  unreadOnly?: boolean;
  topic?: string;
}

/** A user's inbox as a backend sees it: pages, and marking read as a device would. */
@Injectable()
export class UserInboxUseCase {
  constructor(
    private readonly inbox: InboxRepository,
    private readonly delivery: DeliveryPublisher,
  ) {}

  /** Newest first; expired and retracted ones are never listed. */
  async list(userId: string, query: ListQuery): Promise<InboxPage> {
    const [page, unread] = await Promise.all([
      this.inbox.history(userId, {
        before: query.before,
        limit: query.limit ?? HISTORY_PAGE_DEFAULT,
        unreadOnly: query.unreadOnly ?? false,
        topic: query.topic,
      }),
      this.inbox.unreadCount(userId),
    ]);
    return { items: page.items.map(toContentPayload), nextBefore: page.nextBefore, unread };
  }

  /**
   * Marks read, then every socket of the user on every node hears the same `read` broadcast a
   * device's read makes. An id that is not the user's is a 404 (and nothing changes), so a backend
   * learns nothing about other users' notifications.
   */
  async markRead(userId: string, selector: ReadSelector): Promise<{ ids: string[]; unread: number }> {
    if ('ids' in selector) {
      const owned = await this.inbox.ownedIds(userId, selector.ids);
      if (owned.size !== selector.ids.length) throw new NotFoundException('notification not found');
    }
    const change = await this.inbox.markRead(userId, selector);
    if (change.ids.length > 0) await this.delivery.publishRead(userId, change);
    return { ids: change.ids, unread: change.unread };
  }
}
