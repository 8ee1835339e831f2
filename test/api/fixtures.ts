import { bytesToHex, hexToBytes, sha256 } from '../../src/domain/hashing.ts';
import { issueNote, spendNote } from '../../src/domain/modules/mint.ts';
import { claimDeposit } from '../../src/domain/modules/wallet.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { buildTransaction, encodeTransaction } from '../../src/domain/transaction.ts';
import { ADMIN_TOKEN } from './testGuardian.ts';
import type { ApiServer } from './apiServer.ts';

/** Fixed keys and amounts: every run builds byte-identical transactions. */
export const RECIPIENT_KEY = hexToBytes('0000000000000000000000000000000000000000000000000000000000000005');
export const OWNER_KEY = hexToBytes('0000000000000000000000000000000000000000000000000000000000000007');
export const RECIPIENT = bytesToHex(nobleBackend.publicKey(RECIPIENT_KEY));
export const OWNER = nobleBackend.publicKey(OWNER_KEY);
export const DEPOSIT_ID = bytesToHex(sha256(new TextEncoder().encode('deposit 1')));
export const DEPOSIT_MSAT = 10_000n;
export const NOTE_MSAT = 9_000n;

export const nonce = (n: number) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(n));
  return bytes;
};

/** Claims the deposit into a 9,000 msat note: 1,000 msat stays in the reserve, so net assets become 1,000. */
export function claimTransaction(): { hex: string; txid: string } {
  const { tx, txid } = buildTransaction({
    inputs: [claimDeposit(hexToBytes(DEPOSIT_ID))],
    outputs: [issueNote(NOTE_MSAT, OWNER)],
    secretKeysPerInput: [RECIPIENT_KEY],
    nonce: nonce(1),
  });
  return { hex: bytesToHex(encodeTransaction(tx)), txid: bytesToHex(txid) };
}

/** Spends note `index` of transaction `noteTxid` into a new note of the same amount. */
export function reissueTransaction(noteTxid: string, n: number): { hex: string; txid: string } {
  const { tx, txid } = buildTransaction({
    inputs: [spendNote(hexToBytes(noteTxid), 0)],
    outputs: [issueNote(NOTE_MSAT, OWNER)],
    secretKeysPerInput: [OWNER_KEY],
    nonce: nonce(n),
  });
  return { hex: bytesToHex(encodeTransaction(tx)), txid: bytesToHex(txid) };
}

/**
 * The history most tests read: session 0 confirms a deposit, session 1 claims it into a note.
 * Session 2 is open and empty.
 */
export async function seedHistory(api: ApiServer): Promise<{ claimTxid: string }> {
  const deposit = await api.post('/v1/admin/deposits', { depositId: DEPOSIT_ID, amount: DEPOSIT_MSAT.toString(), recipient: RECIPIENT }, { token: ADMIN_TOKEN });
  if (deposit.status !== 202) throw new Error(`deposit: ${deposit.status} ${await deposit.text()}`);
  await api.guardian.seal();
  const claim = claimTransaction();
  const submitted = await api.post('/v1/transactions', { tx: claim.hex });
  if (submitted.status !== 202) throw new Error(`claim: ${submitted.status} ${await submitted.text()}`);
  await api.guardian.seal();
  return { claimTxid: claim.txid };
}
