export * from './rabbitmq';
export * from './postgres';
export * from './tokens';
export * from './processes';
export * from './ws-client';
export * from './cluster';
export * from './raw-socket';
