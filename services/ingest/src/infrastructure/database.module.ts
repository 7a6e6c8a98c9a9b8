import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import {
  ChannelsRepository,
  createDatabase,
  InboxRepository,
  NotificationsRepository,
  PreferencesRepository,
  ReceiptsRepository,
  type Db,
} from '@notify/store';
import { IngestConfig } from '../config/ingest.config';

export const DATABASE = Symbol('DATABASE');

@Global()
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [IngestConfig],
      useFactory: (config: IngestConfig): Db =>
        createDatabase({
          url: config.databaseUrl,
          poolSize: config.dbPoolSize,
          applicationName: `notify-ingest`,
        }).db,
    },
    {
      provide: NotificationsRepository,
      inject: [DATABASE],
      useFactory: (db: Db) => new NotificationsRepository(db),
    },
    { provide: ChannelsRepository, inject: [DATABASE], useFactory: (db: Db) => new ChannelsRepository(db) },
    { provide: InboxRepository, inject: [DATABASE], useFactory: (db: Db) => new InboxRepository(db) },
    {
      provide: PreferencesRepository,
      inject: [DATABASE],
      useFactory: (db: Db) => new PreferencesRepository(db),
    },
    { provide: ReceiptsRepository, inject: [DATABASE], useFactory: (db: Db) => new ReceiptsRepository(db) },
  ],
  exports: [
    DATABASE,
    NotificationsRepository,
    ChannelsRepository,
    InboxRepository,
    PreferencesRepository,
    ReceiptsRepository,
  ],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly db: Db) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}
