import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The test vectors every backend and the encoding must pass (DESIGN.md): a byte-for-byte copy of
 * ../shared/vectors kept in the repository, so a bare clone tests against them too.
 * vectorCopy.unit.spec.ts checks the copy against the shared folder whenever it is there.
 */
export const vectorsDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(vectorsDir, '..', '..');
/** The shared contract's own folder, beside the checkout (absent in a bare clone). */
export const sharedVectorsDir = join(repoRoot, '..', 'shared', 'vectors');
export const ENCODING_VECTORS_FILE = 'encoding-vectors.json';
export const BIP340_VECTORS_FILE = 'bip340-test-vectors.csv';
