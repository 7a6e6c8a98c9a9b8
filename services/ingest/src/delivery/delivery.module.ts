import { Module } from '@nestjs/common';
import { DeliveryPublisher } from './delivery.publisher';

/** Routes committed notifications and channel messages to the gateways (notify.delivery). */
@Module({ providers: [DeliveryPublisher], exports: [DeliveryPublisher] })
export class DeliveryModule {}
