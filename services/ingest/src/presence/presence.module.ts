import { Module } from '@nestjs/common';
import { PresenceRepository, type Db } from '@notify/store';
import { DATABASE } from '../infrastructure/database.module';
import { PresenceController } from './presence.controller';

@Module({
  controllers: [PresenceController],
  providers: [
    { provide: PresenceRepository, inject: [DATABASE], useFactory: (db: Db) => new PresenceRepository(db) },
  ],
})
export class PresenceModule {}
