import { Inject, Injectable } from '@nestjs/common';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { pingDatabase, type Db } from '@notify/store';
import { AMQP_CONNECTION } from '../infrastructure/amqp.module';
import { DATABASE } from '../infrastructure/database.module';

export interface Readiness {
  ready: boolean;
  checks: { rabbitmq: boolean; postgres: boolean; draining: boolean };
}

@Injectable()
export class ReadinessService {
  private draining = false;

  constructor(
    @Inject(AMQP_CONNECTION) private readonly amqp: AmqpConnectionManager,
    @Inject(DATABASE) private readonly db: Db,
  ) {}

  /** After SIGTERM the instance reports not-ready so load balancers stop sending to it first. */
  markDraining(): void {
    this.draining = true;
  }

  async check(): Promise<Readiness> {
    const postgres = await pingDatabase(this.db);
    const rabbitmq = this.amqp.isConnected();
    return {
      ready: rabbitmq && postgres && !this.draining,
      checks: { rabbitmq, postgres, draining: this.draining },
    };
  }
}
