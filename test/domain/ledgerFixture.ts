/** A 4-guardian ledger and users with fixed keys, for ledger tests and the domain benchmark. */
import { sha256 } from '../../src/domain/hashing.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { initialLedgerState, ledgerRules, processItem, type ItemOutcome, type LedgerRules, type LedgerState } from '../../src/domain/ledger.ts';
import { buildTransaction, type Input, type Output, type Transaction } from '../../src/domain/transaction.ts';
import { depositObserved } from '../../src/domain/modules/wallet.ts';
import type { ModulesConfig } from '../../src/domain/modules/consensusModules.ts';
import { createModules } from '../../src/domain/modules/consensusModules.ts';

export function userKey(index: number): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = new Uint8Array(32);
  secretKey[31] = 100 + index;
  return { secretKey, publicKey: nobleBackend.publicKey(secretKey) };
}

export const depositId = (name: string) => sha256(new TextEncoder().encode(name));

let nonceCounter = 0;
export function nextNonce(): Uint8Array {
  const nonce = new Uint8Array(8);
  new DataView(nonce.buffer).setUint32(4, ++nonceCounter);
  return nonce;
}

export function signed(inputs: Input[], outputs: Output[], keys: Uint8Array[], nonce = nextNonce()): Transaction {
  return buildTransaction({ inputs, outputs, secretKeysPerInput: keys, nonce }).tx;
}

export class TestLedger {
  readonly rules: LedgerRules;
  state: LedgerState;

  constructor(peerCount = 4, config?: ModulesConfig) {
    this.rules = ledgerRules({ peerCount, modules: createModules(config) });
    this.state = initialLedgerState(this.rules);
  }

  /** Processes an item and keeps the new state when accepted. */
  apply(item: Parameters<typeof processItem>[2], peer = 0): ItemOutcome {
    const outcome = processItem(this.rules, this.state, item, peer);
    if (outcome.ok) this.state = outcome.state;
    return outcome;
  }

  tx(tx: Transaction, peer = 0): ItemOutcome {
    return this.apply({ kind: 'transaction', tx }, peer);
  }

  /** Proposes a deposit from guardians 0..votes-1. */
  deposit(id: Uint8Array, amount: bigint, recipient: Uint8Array, votes = 3): ItemOutcome[] {
    return Array.from({ length: votes }, (_, peer) => this.apply(depositObserved({ depositId: id, amount, recipient }), peer));
  }
}
