/**
 * Whether a request is for Pusher's HTTP API (`/apps/…`), which differs from the /v1 API in two
 * ways: its body stays bytes until `body_md5` is checked (body-parsers.ts), and its errors are plain
 * text, as Pusher's (http-exception.filter.ts).
 */
export const isPusherApiPath = (url: string | undefined): boolean => url?.startsWith('/apps/') ?? false;
