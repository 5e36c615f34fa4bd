/**
 * Bearer-token check for routes and the WS upgrade. Tokens are compared as SHA-256 digests
 * with timingSafeEqual: equal length always, and no early exit that would tell an attacker
 * how many leading characters they guessed right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** A checker for `Authorization` header values; with no token configured, everything passes. */
export function bearerCheck(token: string | null | undefined): (header: unknown) => boolean {
  if (!token) return () => true;
  const expected = digest(token);
  return (header) => {
    if (typeof header !== 'string') return false;
    const match = /^Bearer (.+)$/i.exec(header.trim());
    if (!match) return false;
    return timingSafeEqual(digest(match[1]!), expected);
  };
}
