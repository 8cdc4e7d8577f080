/**
 * What the orchestrator (`bench/run.ts`) and the load generator
 * (`bench/loadgen.ts`, its own process) say to each other over the IPC
 * channel, and the shape of one measured step.
 */

export type TargetId = 'a' | 'b' | 'c' | 'd';

export interface LoadgenConfig {
  readonly target: TargetId;
  /** `bare`: the baseline servers (no auth, no orders); `waypost`: the wire contract, with orders and tokens. */
  readonly kind: 'bare' | 'waypost';
  /** `http://127.0.0.1:<port>`; the WebSocket is `<ws>/ws`. */
  readonly baseUrl: string;
  /** HS256 secret for minting Waypost tokens (kind `waypost`). */
  readonly jwtSecret?: string;
  readonly rooms: number;
  readonly subscribers: number;
  readonly drivers: number;
  /** Offered rates, posts per second, in order. */
  readonly steps: readonly number[];
  readonly stepSeconds: number;
  readonly graceSeconds: number;
  readonly warmupSeconds: number;
  /** Posts per second during the warm-up (the same for every target). */
  readonly warmupRate: number;
  /** Bytes of each posted frame (approximately: padded to this). */
  readonly payloadBytes: number;
  /** A step whose p99 is above this, or that loses anything, ends the target's run. */
  readonly p99LimitMs: number;
  /** After a failed step, steps up to this rate still run (the issue compares p99 at 200 posts/s). */
  readonly referenceRate: number;
  /** Sockets opened (and subscribed) at once during setup. */
  readonly connectConcurrency: number;
  /**
   * Soak mode: after the warm-up, this many windows of `stepSeconds` each at
   * `steps[0]` posts/s, back to back with no pause (each window's grace runs
   * while the next one sends). Absent: the stepped run.
   */
  readonly soakWindows?: number;
  /** A tag that makes this run's order and event ids unique. */
  readonly runId: string;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

export interface CpuSample {
  /** CPU ms used during the step by the target's process tree (Node + DynamoDB Local's Java). */
  readonly targetMs: number;
  /** Of which Java (DynamoDB Local). */
  readonly javaMs: number;
  /** CPU ms used by the load generator. */
  readonly loadgenMs: number;
  /** CPU ms used by everything else on the machine (other developers' runs): noise. */
  readonly otherMs: number;
  /** Wall ms of the sample. */
  readonly wallMs: number;
}

export interface StepResult {
  readonly index: number;
  readonly warmup: boolean;
  /** Run after an earlier step failed (only up to the reference rate): not part of the sustained rate. */
  readonly afterFailure: boolean;
  /** Offered rate, posts/s. */
  readonly offered: number;
  readonly posts: number;
  /** Deliveries fully received per second (unique receipts / subscribers / time from first send to last receipt). */
  readonly achieved: number;
  readonly expectedDeliveries: number;
  readonly delivered: number;
  /** Expected deliveries not received by the step's end + grace. */
  readonly lost: number;
  /** Receipts of a (room, seq) a subscriber already had, or more receipts of one post than subscribers. */
  readonly dup: number;
  /** Receipts of this step's posts that came after its grace (still counted as lost). */
  late: number;
  readonly acked: number;
  /** Error replies, by code. */
  readonly errors: Record<string, number>;
  readonly errorCount: number;
  /** Posts with no reply by the step's end + grace. */
  readonly unacked: number;
  /** Post → each subscriber's receipt, from the scheduled send time, ms. */
  readonly latency: LatencySummary;
  /** Post → ack, from the scheduled send time, ms. */
  readonly ack: LatencySummary;
  /** How late the generator actually sent, against the schedule, ms (the generator's own lag). */
  readonly sendLag: LatencySummary;
  /** The step's window on the machine's monotonic clock, µs (for trimming CPU profiles). */
  readonly windowUs: readonly [number, number];
  readonly passed: boolean;
  readonly failReason?: string;
  cpu?: CpuSample;
}

export interface SetupSummary {
  readonly sockets: number;
  readonly seconds: number;
  readonly orders: number;
}

export type LoadgenMessage =
  | { readonly type: 'setup'; readonly summary: SetupSummary }
  | { readonly type: 'step-start'; readonly index: number; readonly offered: number; readonly warmup: boolean }
  | { readonly type: 'step-end'; readonly result: StepResult }
  | { readonly type: 'done'; readonly steps: readonly StepResult[] }
  | { readonly type: 'failed'; readonly error: string };

export type OrchestratorMessage = { readonly type: 'config'; readonly config: LoadgenConfig } | { readonly type: 'cpu-sampled' };
