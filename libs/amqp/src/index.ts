export * from './topology';
export * from './delivery-message';
export * from './connection';
export * from './coalesce-writes';
export * from './bind-batch';
