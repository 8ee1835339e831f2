import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from './apiError.ts';

/**
 * `Authorization: Bearer <adminToken>` for the admin endpoints. Both sides are hashed first so
 * the comparison is constant-time whatever the lengths: comparing the raw strings would leak,
 * through timing, how long a prefix of the token an attacker has guessed.
 */
export function requireAdminToken(adminToken: string): RequestHandler {
  if (adminToken.length < 16) throw new RangeError('the admin token must be at least 16 characters');
  const expected = digest(adminToken);
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (match === null) return next(new ApiError(401, 'unauthorized', 'missing bearer token', { 'WWW-Authenticate': 'Bearer' }));
    if (!timingSafeEqual(digest(match[1]!), expected)) return next(new ApiError(401, 'unauthorized', 'wrong bearer token', { 'WWW-Authenticate': 'Bearer' }));
    next();
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
