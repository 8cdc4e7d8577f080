/**
 * The reconnect delay of the SDK's connection (the socket.io-client
 * `Manager`'s `Backoff` seam): a count of failed attempts and the wait it
 * gives. Pure apart from its `random`; browser-safe.
 */

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter", 2015): each wait is uniform in [0, min(maxMs, minMs ·
 * 2^attempts)) ms, the exponent capped at 16, so reconnecting clients spread out.
 */
export class Backoff {
  private count = 0;

  /** @param minMs the cap at 0 attempts (default 250) @param maxMs the highest cap (default 15,000) @param random in [0, 1) */
  constructor(
    private readonly minMs = 250,
    private readonly maxMs = 15_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failed attempts since the last `reset`. */
  get attempts(): number {
    return this.count;
  }

  /** Count one more failed attempt and return the wait (ms) before the next one. */
  fail(): number {
    this.count++;
    return this.duration();
  }

  /** A wait (ms) at the current count, without counting (a retry while connected). */
  duration(): number {
    return Math.floor(this.random() * Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.count, 16)));
  }

  /** Start over (the connection opened). */
  reset(): void {
    this.count = 0;
  }
}
