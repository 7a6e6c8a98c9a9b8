export * from './apps';
export * from './channels';
export * from './events';
export * from './signatures';
export * from './client-events';
