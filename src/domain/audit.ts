/**
 * The balance sheet: every module's named figures (assets positive, liabilities negative) and
 * their sum, net assets, which must never go below zero. A negative sum means the federation
 * would owe more than it holds: that is not a rejection but a consensus failure, so it throws.
 */
import { z } from 'zod';
import type { ModuleRegistry } from './module.ts';

export interface AuditLine {
  module: number;
  name: string;
  msat: bigint;
}

export interface AuditSummary {
  modules: readonly AuditLine[];
  netAssets: bigint;
}

export class AuditFailure extends Error {
  override readonly name = 'AuditFailure';
  constructor(
    readonly summary: AuditSummary,
    context: string,
  ) {
    super(`Consensus Failure: net assets would be ${summary.netAssets} msat (< 0) after ${context}; halting before recording it`);
  }
}

/** Lines in ascending module instance order, as each module lists them. */
export function computeAudit(modules: ModuleRegistry, states: ReadonlyMap<number, unknown>): AuditSummary {
  const lines: AuditLine[] = [];
  let netAssets = 0n;
  for (const id of sortedModuleIds(modules)) {
    const module = modules.get(id)!;
    for (const line of module.audit(states.get(id))) {
      lines.push({ module: id, name: line.name, msat: line.msat });
      netAssets += line.msat;
    }
  }
  return { modules: lines, netAssets };
}

/**
 * The audit runs after every accepted item: the sorted instance ids are computed once per registry.
 * Safe to remember by identity: a registry is a ReadonlyMap, not changed after creation (the size check catches an addition).
 */
const idsOf = new WeakMap<ModuleRegistry, number[]>();

export function sortedModuleIds(modules: ModuleRegistry): readonly number[] {
  let ids = idsOf.get(modules);
  if (ids === undefined || ids.length !== modules.size) {
    ids = [...modules.keys()].sort((a, b) => a - b);
    idsOf.set(modules, ids);
  }
  return ids;
}

/** Throws AuditFailure when net assets are negative. */
export function assertSolvent(summary: AuditSummary, context: string): void {
  if (summary.netAssets < 0n) throw new AuditFailure(summary, context);
}

const signedDecimal = z.string().regex(/^-?(0|[1-9][0-9]*)$/, 'msat as a decimal string');

export const auditSummaryJsonSchema = z.object({
  modules: z.array(z.object({ module: z.number().int().min(0), name: z.string(), msat: signedDecimal })),
  netAssets: signedDecimal,
});
export type AuditSummaryJson = z.infer<typeof auditSummaryJsonSchema>;

export function auditSummaryToJson(summary: AuditSummary): AuditSummaryJson {
  // Keys in sorted order at every level (here and in every snapshot part): JSON.stringify then
  // writes the canonical text, whose hash a replay checks without parsing the snapshot.
  return { modules: summary.modules.map((line) => ({ module: line.module, msat: line.msat.toString(), name: line.name })), netAssets: summary.netAssets.toString() };
}

export function auditSummaryFromJson(json: AuditSummaryJson): AuditSummary {
  return { modules: json.modules.map((line) => ({ ...line, msat: BigInt(line.msat) })), netAssets: BigInt(json.netAssets) };
}
