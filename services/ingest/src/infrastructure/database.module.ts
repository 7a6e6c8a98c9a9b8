import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ChannelsRepository, createDatabase, NotificationsRepository, type Db } from '@notify/store';
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
  ],
  exports: [DATABASE, NotificationsRepository, ChannelsRepository],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly db: Db) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}
