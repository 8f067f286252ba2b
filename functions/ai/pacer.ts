import { AiCallError } from './errors';

export interface PacerOptions {
  /** Requests per minute of the deployment's quota; unset = unpaced. */
  rpm?: number | undefined;
  /** Tokens per minute (estimated prompt tokens + max_tokens, as Azure counts them); unset = unpaced. */
  tpm?: number | undefined;
  /** The longest pause a retry-after can impose. */
  maxPauseMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** A bucket refilled continuously; a take larger than the capacity waits for a full bucket, then owes. */
class TokenBucket {
  private level: number;
  private updatedAt: number;

  constructor(
    private readonly perMs: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.level = capacity;
    this.updatedAt = now;
  }

  waitMs(amount: number, now: number): number {
    this.refill(now);
    const needed = Math.min(amount, this.capacity);
    return this.level >= needed ? 0 : Math.ceil((needed - this.level) / this.perMs);
  }

  take(amount: number, now: number): void {
    this.refill(now);
    this.level -= amount;
  }

  private refill(now: number): void {
    this.level = Math.min(this.capacity, this.level + (now - this.updatedAt) * this.perMs);
    this.updatedAt = now;
  }
}

interface Waiter {
  tokens: number;
  deadline: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Paces calls under a deployment's RPM and TPM quota with two token buckets. Bursts are kept to one
 * request and half a second of tokens, small enough for Azure's 1–10 s enforcement windows. Callers are
 * served in arrival order. After a 429, `pauseFor` holds every caller until the retry-after has elapsed,
 * not only the one that failed.
 */
export class Pacer {
  private readonly requests: TokenBucket | undefined;
  private readonly tokens: TokenBucket | undefined;
  private readonly queue: Waiter[] = [];
  private pausedUntil = 0;
  private pumping = false;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxPauseMs: number;

  constructor(options: PacerOptions) {
    this.now = options.now ?? (() => Date.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.maxPauseMs = options.maxPauseMs ?? 60_000;
    const start = this.now();
    if (options.rpm) this.requests = new TokenBucket(options.rpm / 60_000, 1, start);
    if (options.tpm)
      this.tokens = new TokenBucket(options.tpm / 60_000, Math.max(1, options.tpm / 120), start);
  }

  /** Resolves when a call costing `tokens` may leave; rejects if that would be after `deadline`. */
  acquire(tokens: number, deadline = Number.POSITIVE_INFINITY): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ tokens, deadline, resolve, reject });
      void this.pump();
    });
  }

  /** Holds every caller for `ms` (capped) from now: the deployment said to wait. */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + Math.min(ms, this.maxPauseMs));
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let head = this.queue[0]; head; head = this.queue[0]) {
        const now = this.now();
        const wait = Math.max(
          this.pausedUntil - now,
          this.requests?.waitMs(1, now) ?? 0,
          this.tokens?.waitMs(head.tokens, now) ?? 0,
        );
        if (now + wait > head.deadline) {
          this.queue.shift();
          head.reject(new AiCallError('rate_limited', 'the quota leaves no room before the call deadline'));
          continue;
        }
        if (wait > 0) {
          await this.sleep(wait);
          continue;
        }
        this.requests?.take(1, now);
        this.tokens?.take(head.tokens, now);
        this.queue.shift();
        head.resolve();
      }
    } finally {
      this.pumping = false;
    }
  }
}
