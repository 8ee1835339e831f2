import { parseGuardianConfig, consensusConfig, federationKeys } from '../../../src/consensus/config.ts';
import { startEngine, type Engine, type EngineOptions } from '../../../src/consensus/engine/engine.ts';
import { inlineSignatureChecker } from '../../../src/consensus/engine/signatureChecks.ts';
import { bytesToHex, hexToBytes } from '../../../src/domain/hashing.ts';
import { createKeychain } from '../../../src/domain/keychain.ts';
import { ledgerRules } from '../../../src/domain/ledger.ts';
import { createModules } from '../../../src/domain/modules/consensusModules.ts';
import { issueNote, spendNote } from '../../../src/domain/modules/mint.ts';
import { claimDeposit } from '../../../src/domain/modules/wallet.ts';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import { buildTransaction, encodeTransaction } from '../../../src/domain/transaction.ts';
import { ledgerProjection, ledgerSeed } from '../../../src/projections/ledger.ts';
import type { EventLog, EventToAppend, AppendResult } from '../../../src/streams/eventLog.ts';
import { newEvent, streams } from '../../../src/streams/events.ts';
import { createMemoryEventLog } from '../../../src/streams/memoryEventLog.ts';
import { withEventSchemas } from '../../../src/streams/schemaCheckedLog.ts';

export const GUARDIAN_SECRET = hexToBytes('0000000000000000000000000000000000000000000000000000000000000007');
export const USER_SECRET = hexToBytes('00000000000000000000000000000000000000000000000000000000000000b0');
export const USER_KEY = nobleBackend.publicKey(USER_SECRET);

export function testConfig(sessionSeconds: number) {
  return parseGuardianConfig({
    version: 1,
    peer: 0,
    secretKey: bytesToHex(GUARDIAN_SECRET),
    federation: { peers: [{ id: 0, pubkey: bytesToHex(nobleBackend.publicKey(GUARDIAN_SECRET)), apiUrl: 'http://127.0.0.1:8174' }], sessionSeconds },
    dataDir: '/nonexistent',
    api: { port: 8174 },
    p2p: { port: 8173 },
    adminToken: 'unit-test-admin-token',
  });
}

/** A fresh schema-checked memory log with FederationConfigured recorded. */
export async function configuredLog(sessionSeconds: number): Promise<EventLog> {
  const log = withEventSchemas(createMemoryEventLog(), { guardian: 0 });
  await log.append(streams.federation, [newEvent('FederationConfigured', consensusConfig(testConfig(sessionSeconds)))]);
  return log;
}

/** Seeds the write model by folding the ledger projection over the log (what the projection host does). */
async function foldLedger(log: EventLog) {
  let state = ledgerProjection.initial;
  for await (const event of log.readAll()) state = ledgerProjection.evolve(state, event);
  return ledgerSeed(state)!.ledger;
}

export function engineOn(log: EventLog, sessionSeconds: number, extra: Partial<EngineOptions> = {}): Promise<Engine> {
  const config = testConfig(sessionSeconds);
  return startEngine({
    log,
    keychain: createKeychain({ federation: federationKeys(config), secretKey: GUARDIAN_SECRET }),
    rules: ledgerRules({ peerCount: 1, modules: createModules() }),
    checker: inlineSignatureChecker(nobleBackend),
    sessionSeconds,
    queueCapacity: 100,
    seedLedger: () => foldLedger(log),
    ...extra,
  });
}

let nonce = 0;
const nextNonce = () => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setUint32(4, ++nonce);
  return bytes;
};

export function depositId(n: number): string {
  return n.toString(16).padStart(64, '0');
}

/** Claims deposit `n` into one note owned by the user; returns the tx hex and its txid. */
export function claimTx(n: number, amount: bigint) {
  const { tx, txid } = buildTransaction({ inputs: [claimDeposit(hexToBytes(depositId(n)))], outputs: [issueNote(amount, USER_KEY)], secretKeysPerInput: [USER_SECRET], nonce: nextNonce() });
  return { hex: bytesToHex(encodeTransaction(tx)), txid: bytesToHex(txid) };
}

/** Spends note (txid, index) into a new note of `amount` for the user. */
export function spendTx(noteTxid: string, index: number, amount: bigint) {
  const { tx, txid } = buildTransaction({ inputs: [spendNote(hexToBytes(noteTxid), index)], outputs: [issueNote(amount, USER_KEY)], secretKeysPerInput: [USER_SECRET], nonce: nextNonce() });
  return { hex: bytesToHex(encodeTransaction(tx)), txid: bytesToHex(txid) };
}

/** A log whose appends wait until `release()`: the session loop blocks on its commit. */
export function gatedLog(log: EventLog) {
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  const sizes: number[] = [];
  return {
    /** Events per append, in order. */
    appendSizes: () => [...sizes],
    log: {
      ...log,
      async append(stream: string, events: readonly EventToAppend[], options?: Parameters<EventLog['append']>[2]): Promise<AppendResult> {
        sizes.push(events.length);
        await gate;
        return log.append(stream, events, options);
      },
    } satisfies EventLog,
    close() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      open();
      gate = Promise.resolve();
    },
  };
}
