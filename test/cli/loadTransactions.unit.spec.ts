import { describe, expect, it } from 'vitest';
import { signedTransaction } from '../../src/cli/loadGenerator.ts';
import { bytesToHex, hexToBytes } from '../../src/domain/hashing.ts';
import { issueNote, spendNote } from '../../src/domain/modules/mint.ts';
import { claimDeposit, withdraw } from '../../src/domain/modules/wallet.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { fastestBackend } from '../../src/runtime/signatures/fastest.ts';
import { buildTransaction, decodeTransaction, encodeTransaction } from '../../src/domain/transaction.ts';
import { defaultModuleCodecs } from '../../src/domain/modules/consensusModules.ts';

const random = seededRandom(11);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));

describe("the load client's transaction builder", () => {
  it('gives the bytes and txid of buildTransaction + encodeTransaction, for every input count it signs', () => {
    const backend = fastestBackend();
    for (let round = 0; round < 20; round++) {
      const secret = bytes(32);
      const owner = backend.publicKey(secret);
      const inputs = Array.from({ length: 1 + (round % 3) }, (_, i) => (i % 2 === 0 ? spendNote(bytes(32), round * 1000 + i) : claimDeposit(bytes(32))));
      const outputs = round % 4 === 0 ? [withdraw(hexToBytes('0014' + '00'.repeat(20)), 5_000n)] : [issueNote(BigInt(round + 1) * 1000n, owner), issueNote(7n, owner)];
      const nonce = bytes(8);
      const fast = signedTransaction(inputs, outputs, secret, nonce, backend);
      const reference = buildTransaction({ inputs, outputs, secretKeysPerInput: inputs.map(() => secret), nonce, backend });
      expect(fast.txid).toBe(bytesToHex(reference.txid));
      expect(fast.hex).toBe(bytesToHex(encodeTransaction(reference.tx)));
      expect(decodeTransaction(hexToBytes(fast.hex), defaultModuleCodecs).ok).toBe(true);
    }
  });
});
