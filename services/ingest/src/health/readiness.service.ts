import { Inject, Injectable } from '@nestjs/common';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { pingDatabase, type Db } from '@notify/store';
import { AMQP_CONNECTION } from '../infrastructure/amqp.module';
import { IngestTopology } from '../infrastructure/ingest-topology';
import { DATABASE } from '../infrastructure/database.module';

export interface Readiness {
  ready: boolean;
  checks: { rabbitmq: boolean; topology: boolean; postgres: boolean; draining: boolean };
}

@Injectable()
export class ReadinessService {
  private draining = false;

  constructor(
    @Inject(AMQP_CONNECTION) private readonly amqp: AmqpConnectionManager,
    @Inject(DATABASE) private readonly db: Db,
    private readonly topology: IngestTopology,
  ) {}

  /** After SIGTERM the instance reports not-ready so load balancers stop sending to it first. */
  markDraining(): void {
    this.draining = true;
  }

  async check(): Promise<Readiness> {
    const postgres = await pingDatabase(this.db);
    const rabbitmq = this.amqp.isConnected();
    const topology = rabbitmq && this.topology.declared;
    return {
      ready: topology && postgres && !this.draining,
      checks: { rabbitmq, topology, postgres, draining: this.draining },
    };
  }
}
