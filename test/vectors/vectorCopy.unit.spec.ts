import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIP340_VECTORS_FILE, ENCODING_VECTORS_FILE, sharedVectorsDir, vectorsDir } from './vectorFiles.ts';

/** The shared folder's files, which the copy must hold byte for byte (this folder's own code aside). */
const VECTOR_FILES = ['README.md', BIP340_VECTORS_FILE, ENCODING_VECTORS_FILE];
/** Every section of encoding-vectors.json that a spec reads. */
const ENCODING_SECTIONS = ['bigsize', 'bigsizeRejected', 'merkle', 'header', 'federation', 'transaction', 'session', 'unitData', 'unitDataRejected'];

/** Every vector file is in the copy, whole: all encoding sections, and every BIP-340 row. */
function expectCopyComplete(): void {
  for (const file of VECTOR_FILES) expect(existsSync(join(vectorsDir, file)), file).toBe(true);
  const encoding = JSON.parse(readFileSync(join(vectorsDir, ENCODING_VECTORS_FILE), 'utf8')) as Record<string, unknown>;
  for (const section of ENCODING_SECTIONS) expect(encoding[section], `encoding-vectors.json: ${section}`).toBeDefined();
  const rows = readFileSync(join(vectorsDir, BIP340_VECTORS_FILE), 'utf8').trim().split(/\r?\n/);
  // The official file: a header and rows 0 to 18.
  expect(rows).toHaveLength(20);
  expect(rows.at(-1)?.startsWith('18,')).toBe(true);
}

describe('the repository copy of the shared test vectors (test/vectors)', () => {
  it('holds every vector file, whole: all encoding sections, and every BIP-340 row', () => {
    expectCopyComplete();
  });

  it('equals ../shared/vectors byte for byte where that folder is beside the checkout; in a bare clone, is complete and says it was not compared', () => {
    if (!existsSync(sharedVectorsDir)) {
      console.warn(`test/vectors: ${sharedVectorsDir} is missing, so the copy was NOT compared with the shared vectors (only checked complete)`);
      expectCopyComplete();
      return;
    }
    const shared = readdirSync(sharedVectorsDir).sort();
    expect(shared).toEqual([...VECTOR_FILES].sort());
    for (const file of shared) {
      const copy = join(vectorsDir, file);
      expect(existsSync(copy), `test/vectors/${file} is missing`).toBe(true);
      expect(Buffer.compare(readFileSync(copy), readFileSync(join(sharedVectorsDir, file))), `test/vectors/${file} differs from ../shared/vectors/${file}`).toBe(0);
    }
  });
});
