import { SignJWT } from 'jose';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256';
export const TEST_API_KEY = 'test-producer-key';

export async function signToken(
  userId: string,
  options: { secret?: string; expiresInSeconds?: number; channels?: string[] } = {},
): Promise<string> {
  const jwt = new SignJWT(options.channels ? { channels: options.channels } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 3600));
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}
