export * from './schema';
export * from './database';
export * from './migrator';
export * from './notification-records';
export * from './notifications.repository';
export * from './cursors.repository';
export * from './transactions';
export * from './ping';
