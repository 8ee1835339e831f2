import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonicalJson.ts';
import type { JsonValue } from '../domain/module.ts';

/**
 * Deterministic event ids, so that an append retried after an ambiguous failure (a deadline passed,
 * the leader changed mid-write, the process restarted and recorded the same items again) is
 * recognised by EventStoreDB as the same write and answered as a no-op, never written twice.
 *
 * The id is a UUID v5 (RFC 9562: SHA-1 of a namespace and a name) whose name is the stream, the
 * revision the event lands at and its content (type and canonical JSON data). The same event at
 * the same place always gets the same id; a different event there gets another id, so the
 * server's optimistic concurrency check still refuses it.
 */

/** fedlog's namespace (a fixed random UUID): ids of our events never collide with v5 ids of other names. */
const NAMESPACE = uuidBytes('3d7c0b1f-6f7e-5a2e-9c41-5d1a0f2b7e63');

export function deterministicEventId(stream: string, revision: number, type: string, data: unknown): string {
  const name = `${stream}\n${revision}\n${type}\n${canonicalJson(data as JsonValue)}`;
  const digest = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50; // version 5
  digest[8] = (digest[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}
