/**
 * The guardian's Prometheus registry: Fedimint's consensus metrics (fedimint-server's
 * consensus/engine metrics, names kept so existing dashboards read them) plus Node's process
 * defaults. A private Registry, not prom-client's global one, so several guardians (tests, dev)
 * can live in one process; the API adds its HTTP metrics to this same registry.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LinkState } from './transport/peerLink.ts';

export interface ConsensusMetrics {
  readonly registry: Registry;
  /** consensus_items_processed_total{peer_id}: accepted items per contributing peer. */
  readonly itemsProcessed: Counter<'peer_id'>;
  /** Items rejected by the ledger in the session loop (not counted by Fedimint, useful under load). */
  readonly itemsRejected: Counter<'peer_id'>;
  /** consensus_item_processing_duration_seconds{peer_id}. */
  readonly itemProcessingDuration: Histogram<'peer_id'>;
  /** consensus_item_processing_module_audit_duration_seconds{module_id, module_kind}. */
  readonly moduleAuditDuration: Histogram<'module_id' | 'module_kind'>;
  /** consensus_sessions_completed (Fedimint's consensus_session_count, renamed: promtool reserves _count for histograms and summaries). */
  readonly sessionCount: Gauge;
  /** consensus_ordering_latency_seconds: submission to ordering (accepted or rejected). */
  readonly orderingLatency: Histogram;
  /** consensus_peer_contribution_session_idx{self_id, peer_id}. */
  readonly peerContributionSession: Gauge<'self_id' | 'peer_id'>;
  /** Transactions waiting in the submission queue. */
  readonly queueDepth: Gauge;
  /** Events appended per engine commit (one fsync each). */
  readonly commitBatchSize: Histogram;
  /** consensus_session_rounds: the round of the last unit a session ordered before it completed. */
  readonly sessionRounds: Histogram;
  /** consensus_unit_ordering_rounds: rounds from creating an own unit to its ordering (n >= 4). */
  readonly unitOrderingRounds: Histogram;
}

/**
 * Fedimint's peer metrics (connects, disconnects, messages per peer and direction), read from the
 * links at scrape time: the transport counts, the registry only reports.
 */
export function registerPeerLinkMetrics(registry: Registry, links: () => readonly LinkState[]): void {
  const registers = [registry];
  const perPeer = (name: string, help: string, value: (link: LinkState) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['peer_id'],
      registers,
      collect() {
        this.reset();
        for (const link of links()) this.labels({ peer_id: String(link.peer) }).inc(value(link));
      },
    });
  perPeer('peer_connect_total', 'Connections established with a peer', (l) => l.connects);
  perPeer('peer_disconnect_total', 'Connections to a peer that were lost', (l) => l.disconnects);
  perPeer('peer_messages_dropped_total', 'Messages to a peer dropped from its full send queue', (l) => l.dropped);
  new Counter({
    name: 'peer_messages_total',
    help: 'Messages exchanged with a peer',
    labelNames: ['peer_id', 'direction'],
    registers,
    collect() {
      this.reset();
      for (const link of links()) {
        this.labels({ peer_id: String(link.peer), direction: 'incoming' }).inc(link.framesIn);
        this.labels({ peer_id: String(link.peer), direction: 'outgoing' }).inc(link.framesOut);
      }
    },
  });
  new Gauge({
    name: 'peer_connected',
    help: 'Whether the link to a peer is up (1) or down (0)',
    labelNames: ['peer_id'],
    registers,
    collect() {
      this.reset();
      for (const link of links()) this.labels({ peer_id: String(link.peer) }).set(link.connected ? 1 : 0);
    },
  });
}

export function createMetrics(options: { processDefaults?: boolean } = {}): ConsensusMetrics {
  const registry = new Registry();
  if (options.processDefaults ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client exposes these gauges with a counter's _total suffix, which promtool rejects; the
    // same figures are in nodejs_active_handles / nodejs_active_requests / nodejs_active_resources.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  return {
    registry,
    itemsProcessed: new Counter({ name: 'consensus_items_processed_total', help: 'Number of consensus items processed (accepted) in the engine', labelNames: ['peer_id'], registers }),
    itemsRejected: new Counter({ name: 'consensus_items_rejected_total', help: 'Number of consensus items rejected by the ledger in the engine', labelNames: ['peer_id'], registers }),
    itemProcessingDuration: new Histogram({
      name: 'consensus_item_processing_duration_seconds',
      help: 'Duration of processing a consensus item',
      labelNames: ['peer_id'],
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
      registers,
    }),
    moduleAuditDuration: new Histogram({
      name: 'consensus_item_processing_module_audit_duration_seconds',
      help: 'Duration of the module audit after a consensus item',
      labelNames: ['module_id', 'module_kind'],
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01],
      registers,
    }),
    sessionCount: new Gauge({ name: 'consensus_sessions_completed', help: 'Sessions completed (sealed with SessionCompleted)', registers }),
    orderingLatency: new Histogram({
      name: 'consensus_ordering_latency_seconds',
      help: 'Duration of ordering a batch of consensus items',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    peerContributionSession: new Gauge({ name: 'consensus_peer_contribution_session_idx', help: 'Latest contribution session idx by peer_id', labelNames: ['self_id', 'peer_id'], registers }),
    queueDepth: new Gauge({ name: 'consensus_submission_queue_depth', help: 'Transactions waiting to be ordered', registers }),
    commitBatchSize: new Histogram({
      name: 'consensus_commit_batch_events',
      help: 'Events appended in one engine commit (one fsync)',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    }),
    sessionRounds: new Histogram({
      name: 'consensus_session_rounds',
      help: 'Round of the last unit a session ordered before it completed',
      buckets: [1, 10, 100, 1000, 3600, 3700, 4000, 4600],
      registers,
    }),
    unitOrderingRounds: new Histogram({
      name: 'consensus_unit_ordering_rounds',
      help: 'Rounds from creating an own broadcast unit to its ordering',
      buckets: [0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20],
      registers,
    }),
  };
}
