import { createVirtualClock, type VirtualClock } from '../../../../src/consensus/broadcast/clock.ts';
import { broadcastConfig, type BroadcastConfig } from '../../../../src/consensus/broadcast/config.ts';
import { startBroadcastNode, type BroadcastEvent, type BroadcastNode, type OrderedUnit } from '../../../../src/consensus/broadcast/broadcastNode.ts';
import { createSimulatedNetwork, type SimulatedNetwork, type SimulatedNetworkOptions } from '../../../../src/consensus/broadcast/network/simulatedNetwork.ts';
import type { UnitSigner } from '../../../../src/consensus/broadcast/signer.ts';
import { createHashSigner } from './hashSigner.ts';

export interface SimulatedPeer {
  node: BroadcastNode | undefined;
  /** What this incarnation output (reset on restart: ordering restarts from the first unit). */
  output: OrderedUnit[];
  /** Every unit this peer ever created, over all incarnations: round -> hashes. */
  created: Map<number, string[]>;
  events: BroadcastEvent[];
  /** The peer's dag-<i> stream. */
  backup: Uint8Array[];
  controller: AbortController | undefined;
  /** Data items handed out by the data provider, in order. */
  dataGiven: string[];
  /** Signature verifications this peer's node ran, over all incarnations: a CPU measure. */
  verifications: number;
  /** What the node reported through onOtherSession. */
  otherSessions: { from: number; session: bigint }[];
  /** Virtual time of each own unit's creation, by round. */
  createdAt: Map<number, number>;
}

export interface Simulation {
  clock: VirtualClock;
  net: SimulatedNetwork;
  peers: SimulatedPeer[];
  start(peer: number): void;
  crash(peer: number): void;
  /** Runs until every listed peer output at least `units` ordered units (or the limit passes). */
  runUntilOrdered(units: number, peers: number[], limitMs: number): Promise<boolean>;
  stopAll(): void;
}

export interface SimulationOptions {
  n: number;
  seed: number;
  network?: Omit<SimulatedNetworkOptions, 'n' | 'clock' | 'seed'>;
  config?: Partial<BroadcastConfig>;
  signer?: (peer: number) => UnitSigner;
  /** Data for a unit; default: "p<peer>r<round>". */
  data?: (peer: number, round: number) => string;
  /** Saves asynchronously (a resolved promise per unit), like a real log append. */
  asyncSaver?: boolean;
  /**
   * A slow disk: a save becomes durable (enters the backup) only after this much virtual time, in
   * order; a crash loses the saves still pending.
   */
  saveDelayMs?: number;
}

export function createSimulation(options: SimulationOptions): Simulation {
  const { n, seed } = options;
  const clock = createVirtualClock();
  const net = createSimulatedNetwork({ n, clock, seed, ...options.network });
  const encoder = new TextEncoder();
  const peers: SimulatedPeer[] = Array.from({ length: n }, () => ({
    node: undefined,
    output: [],
    created: new Map(),
    events: [],
    backup: [],
    controller: undefined,
    dataGiven: [],
    verifications: 0,
    otherSessions: [],
    createdAt: new Map(),
  }));
  /** Bumped on every crash, so a save still pending from an earlier incarnation never lands. */
  const incarnation: number[] = Array.from({ length: n }, () => 0);
  const lastDurableAt: number[] = Array.from({ length: n }, () => 0);

  function counted(peer: SimulatedPeer, signer: UnitSigner): UnitSigner {
    return {
      ...signer,
      sign: (message) => signer.sign(message),
      verify(from, message, signature) {
        peer.verifications++;
        return signer.verify(from, message, signature);
      },
    };
  }

  function slowSave(i: number, unit: Uint8Array, delayMs: number): Promise<void> {
    const peer = peers[i]!;
    const mine = incarnation[i]!;
    // Saves land in order, each at least delayMs after it was asked for.
    const at = Math.max(clock.now() + delayMs, lastDurableAt[i]!);
    lastDurableAt[i] = at;
    return new Promise<void>((resolve) => {
      clock.setTimer(at - clock.now(), () => {
        if (incarnation[i] !== mine) return;
        peer.backup.push(unit);
        resolve();
      });
    });
  }

  function start(i: number): void {
    const peer = peers[i]!;
    if (peer.controller !== undefined) throw new Error(`peer ${i} already runs`);
    const controller = new AbortController();
    peer.controller = controller;
    peer.output = [];
    const node = startBroadcastNode({
      config: broadcastConfig({ n, peer: i, session: 7n, roundDelayMs: 20, ...options.config }),
      signer: counted(peer, options.signer?.(i) ?? createHashSigner(i, n)),
      network: net.endpoint(i),
      clock,
      signal: controller.signal,
      seed: seed * 1000 + i,
      backup: [...peer.backup],
      saver: {
        save(unit) {
          if (options.saveDelayMs !== undefined) return slowSave(i, unit, options.saveDelayMs);
          peer.backup.push(unit);
          return options.asyncSaver ? Promise.resolve() : undefined;
        },
      },
      data(round) {
        const item = options.data?.(i, round) ?? `p${i}r${round}`;
        peer.dataGiven.push(item);
        return encoder.encode(item);
      },
      onEvent(event) {
        peer.events.push(event);
        if (event.kind === 'unitCreated') {
          peer.createdAt.set(event.round, clock.now());
          const list = peer.created.get(event.round) ?? [];
          list.push(event.hash);
          peer.created.set(event.round, list);
        }
      },
      onOtherSession: (from, session) => peer.otherSessions.push({ from, session }),
    });
    node.ordered$.subscribe({ next: (unit) => peer.output.push(unit), error: () => undefined }); // reported by the 'failed' event
    peer.node = node;
  }

  function crash(i: number): void {
    const peer = peers[i]!;
    peer.controller?.abort();
    incarnation[i]!++;
    peer.controller = undefined;
    peer.node = undefined;
  }

  return {
    clock,
    net,
    peers,
    start,
    crash,
    runUntilOrdered: (units, which, limitMs) => clock.runUntil(() => which.every((i) => peers[i]!.output.length >= units), limitMs),
    stopAll() {
      for (let i = 0; i < n; i++) crash(i);
    },
  };
}

/** The hashes of an output, for comparing sequences. */
export function hashes(output: readonly OrderedUnit[]): string[] {
  return output.map((u) => u.hash);
}

/** Asserts-friendly: the longest common length and whether each output is a prefix of the longest. */
export function prefixConsistent(outputs: readonly (readonly OrderedUnit[])[]): boolean {
  const longest = outputs.reduce<readonly OrderedUnit[]>((a, b) => (b.length > a.length ? b : a), []);
  return outputs.every((o) => o.every((u, i) => u.hash === longest[i]!.hash));
}
