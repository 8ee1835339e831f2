/**
 * `--data` may name one guardian's data directory or a federation's: `fedlog dev` keeps four
 * guardians under <dir>/guardian-<i>, and `fedlog verify --data data/dev` is what a newcomer types.
 * Any guardian's log carries the whole signed history, so one member is enough to verify it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The guardian directory to read for `dir`, and a line to tell the user when it is not `dir` itself. */
export function guardianDataDir(dir: string): { dir: string; note?: string } {
  if (existsSync(join(dir, 'config.json')) || existsSync(join(dir, 'log.sqlite')) || !existsSync(dir)) return { dir };
  const members = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^guardian-\d+$/.test(entry.name))
    .map((entry) => entry.name)
    .sort((a, b) => Number(a.slice(9)) - Number(b.slice(9)));
  const chosen = members.includes('guardian-0') ? 'guardian-0' : members.length === 1 ? members[0] : undefined;
  if (chosen !== undefined) {
    const member = join(dir, chosen);
    return { dir: member, note: `${dir} is a federation's data folder (${members.join(', ')}): reading ${chosen} (${member})` };
  }
  if (members.length > 1) throw new Error(`${dir} holds ${members.join(', ')} and no guardian-0: name one, e.g. --data ${join(dir, members[0]!)}`);
  return { dir };
}
