import { SignJWT } from 'jose';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256';
export const TEST_API_KEY = 'test-producer-key';

export async function signToken(
  userId: string,
  options: { secret?: string; expiresInSeconds?: number; channels?: string[]; info?: unknown } = {},
): Promise<string> {
  const claims: Record<string, unknown> = {};
  if (options.channels) claims.channels = options.channels;
  if (options.info !== undefined) claims.info = options.info;
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 3600));
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}
