import { Global, Module, type DynamicModule } from '@nestjs/common';
import { IngestConfig } from './ingest.config';

/** Makes the already-validated config injectable everywhere; nothing else reads process.env. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: IngestConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: IngestConfig, useValue: config }],
      exports: [IngestConfig],
    };
  }
}
