/**
 * The wallet module (instance 0): the federation's reserve. Guardians vote deposits in; a deposit
 * is confirmed once `threshold` distinct guardians proposed the identical (depositId, amount,
 * recipient), so no minority of byzantine guardians can mint a deposit or change its amount.
 */
import { z } from 'zod';
import { bytes, bytes32, encode as encodeBody, struct, u64, versioned, type Codec } from '../encoding.ts';
import { bytesToHex, hexToBytes } from '../hashing.ts';
import type { PeerId } from '../federation.ts';
import { emptyPersistentMap, persistentMapOf, type PersistentMap } from '../persistentMap.ts';
import { reject, type JsonValue, type Module, type ModuleContext } from '../module.ts';
import type { Input, Output } from '../transaction.ts';
import type { ConsensusItem } from '../consensusItem.ts';
import { isXOnlyPublicKey, notAPublicKey } from './publicKeyRule.ts';

export const WALLET_INSTANCE = 0;

export interface DepositObserved {
  depositId: Uint8Array;
  amount: bigint;
  recipient: Uint8Array;
}
export interface ClaimDeposit {
  depositId: Uint8Array;
}
export interface Withdraw {
  destination: Uint8Array;
  amount: bigint;
}

export const walletCodecs = {
  item: versioned(struct({ depositId: bytes32, amount: u64, recipient: bytes32 })) as Codec<DepositObserved>,
  input: versioned(struct({ depositId: bytes32 })) as Codec<ClaimDeposit>,
  output: versioned(struct({ destination: bytes, amount: u64 })) as Codec<Withdraw>,
};

export interface WalletConfig {
  /** Charged on every withdrawal on top of its amount; it stays in the reserve as surplus. */
  withdrawFeeMsat: bigint;
}

export const defaultWalletConfig: WalletConfig = { withdrawFeeMsat: 1_000n };

export interface Deposit {
  amount: bigint;
  recipient: Uint8Array;
  claimed: boolean;
}

export interface WalletState {
  /** depositId hex -> confirmed deposit. */
  readonly deposits: PersistentMap<Deposit>;
  /** depositId hex -> (vote key "amount:recipientHex" -> ascending peers who proposed it). */
  readonly pending: PersistentMap<ReadonlyMap<string, readonly PeerId[]>>;
  readonly claimedMsat: bigint;
  readonly withdrawnMsat: bigint;
}

const voteKey = (item: DepositObserved) => `${item.amount}:${bytesToHex(item.recipient)}`;

const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/);
const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const walletJsonSchema = z.object({
  deposits: z.record(hex32, z.object({ amount: decimal, recipient: hex32, claimed: z.boolean() })),
  pending: z.record(hex32, z.record(z.string(), z.array(z.number().int().min(0).max(0xffff)))),
  claimedMsat: decimal,
  withdrawnMsat: decimal,
});

export function walletModule(config: WalletConfig = defaultWalletConfig): Module<WalletState, DepositObserved, ClaimDeposit, Withdraw> {
  const initialState: WalletState = { deposits: emptyPersistentMap(), pending: emptyPersistentMap(), claimedMsat: 0n, withdrawnMsat: 0n };

  function processConsensusItem(state: WalletState, item: DepositObserved, peer: PeerId, context: ModuleContext) {
    if (peer < 0 || peer >= context.peerCount) return reject(`peer ${peer} is not in the federation`);
    if (item.amount === 0n) return reject('deposit amount must be positive');
    if (!isXOnlyPublicKey(item.recipient)) return reject(notAPublicKey('recipient', item.recipient));
    const id = bytesToHex(item.depositId);
    if (state.deposits.has(id)) return reject('deposit already confirmed');
    const votes = state.pending.get(id) ?? new Map<string, readonly PeerId[]>();
    const key = voteKey(item);
    const voters = votes.get(key) ?? [];
    // A guardian proposing the same deposit twice must not count twice toward the threshold.
    if (voters.includes(peer)) return reject('deposit already proposed by this peer');
    const nextVoters = [...voters, peer].sort((a, b) => a - b);
    if (nextVoters.length >= context.threshold) {
      const deposit: Deposit = { amount: item.amount, recipient: item.recipient.slice(), claimed: false };
      return { ok: true as const, state: { ...state, deposits: state.deposits.set(id, deposit), pending: state.pending.delete(id) } };
    }
    const nextVotes = new Map(votes).set(key, nextVoters);
    return { ok: true as const, state: { ...state, pending: state.pending.set(id, nextVotes) } };
  }

  return {
    instance: WALLET_INSTANCE,
    name: 'wallet',
    codecs: walletCodecs,
    initialState,
    processConsensusItem,
    processInput(state, input) {
      const id = bytesToHex(input.depositId);
      const deposit = state.deposits.get(id);
      if (deposit === undefined) return reject('deposit not confirmed');
      if (deposit.claimed) return reject('deposit already claimed');
      return {
        ok: true,
        state: { ...state, deposits: state.deposits.set(id, { ...deposit, claimed: true }), claimedMsat: state.claimedMsat + deposit.amount },
        amount: deposit.amount,
        publicKey: deposit.recipient,
      };
    },
    processOutput(state, output) {
      if (output.amount === 0n) return reject('withdrawal amount must be positive');
      return { ok: true, state: { ...state, withdrawnMsat: state.withdrawnMsat + output.amount }, amount: output.amount, fee: config.withdrawFeeMsat };
    },
    describe: {
      item: (item) => ({ type: 'DepositObserved', depositId: bytesToHex(item.depositId), amount: item.amount.toString(), recipient: bytesToHex(item.recipient) }),
      input: (input) => ({ type: 'ClaimDeposit', depositId: bytesToHex(input.depositId) }),
      output: (output) => ({ type: 'Withdraw', destination: bytesToHex(output.destination), amount: output.amount.toString() }),
    },
    audit: (state) => [{ name: 'reserves', msat: state.claimedMsat - state.withdrawnMsat }],
    proposals(state, self, observed, context) {
      const wanted: DepositObserved[] = [];
      let trial = state;
      for (const item of observed) {
        const result = processConsensusItem(trial, item, self, context);
        if (result.ok) {
          wanted.push(item);
          trial = result.state;
        }
      }
      return wanted;
    },
    toJson(state): JsonValue {
      const deposits: Record<string, JsonValue> = {};
      for (const [id, d] of state.deposits.sortedEntries()) deposits[id] = { amount: d.amount.toString(), claimed: d.claimed, recipient: bytesToHex(d.recipient) };
      const pending: Record<string, JsonValue> = {};
      for (const [id, votes] of state.pending.sortedEntries()) {
        const byKey: Record<string, JsonValue> = {};
        for (const key of [...votes.keys()].sort()) byKey[key] = [...votes.get(key)!];
        pending[id] = byKey;
      }
      // Keys in sorted order, as every snapshot part (see auditSummaryToJson).
      return { claimedMsat: state.claimedMsat.toString(), deposits, pending, withdrawnMsat: state.withdrawnMsat.toString() };
    },
    fromJson(json) {
      const parsed = walletJsonSchema.parse(json);
      return {
        deposits: persistentMapOf(Object.entries(parsed.deposits).map(([id, d]) => [id, { amount: BigInt(d.amount), recipient: hexToBytes(d.recipient), claimed: d.claimed }] as const)),
        pending: persistentMapOf(Object.entries(parsed.pending).map(([id, votes]) => [id, new Map(Object.entries(votes)) as ReadonlyMap<string, readonly PeerId[]>] as const)),
        claimedMsat: BigInt(parsed.claimedMsat),
        withdrawnMsat: BigInt(parsed.withdrawnMsat),
      };
    },
  };
}

// Builders for clients, tests and the load generator.

/** The consensus item a guardian proposes for a deposit it observed. */
export function depositObserved(deposit: DepositObserved): ConsensusItem {
  return { kind: 'module', module: WALLET_INSTANCE, body: encodeBody(walletCodecs.item, deposit) };
}

export function claimDeposit(depositId: Uint8Array): Input {
  return { module: WALLET_INSTANCE, body: encodeBody(walletCodecs.input, { depositId }) };
}

export function withdraw(destination: Uint8Array, amount: bigint): Output {
  return { module: WALLET_INSTANCE, body: encodeBody(walletCodecs.output, { destination, amount }) };
}
