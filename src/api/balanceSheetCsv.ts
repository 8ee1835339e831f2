import type { z } from 'zod';
import type * as s from './schemas.ts';

/**
 * GET /v1/audit/history as CSV (RFC 4180), for a spreadsheet: one row per session, one column per
 * balance-sheet line in the order the sheets first name them, then net assets; msat as exact integers.
 */
type BalanceSheet = z.output<typeof s.balanceSheet>;

const field = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

export function balanceSheetsCsv(sheets: readonly BalanceSheet[]): string {
  const lineKey = (line: BalanceSheet['modules'][number]) => `${line.module}/${line.name}`;
  const columns = new Map<string, string>();
  for (const sheet of sheets) for (const line of sheet.modules) if (!columns.has(lineKey(line))) columns.set(lineKey(line), `${line.moduleName ?? `module ${line.module}`} ${line.name} (msat)`);
  const rows = [['session', 'items', ...columns.values(), 'net assets (msat)']];
  for (const sheet of sheets) {
    const msat = new Map(sheet.modules.map((line) => [lineKey(line), line.msat]));
    // A line a sheet does not have is empty, not 0: the module said nothing then.
    rows.push([String(sheet.session), String(sheet.itemCount), ...[...columns.keys()].map((key) => msat.get(key) ?? ''), sheet.netAssets]);
  }
  return rows.map((row) => row.map(field).join(',') + '\r\n').join('');
}
