export * from './apps';
export * from './channels';
export * from './client-events';
export * from './events';
export * from './signatures';
export * from './webhooks';
