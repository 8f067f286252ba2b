/**
 * The time source of the local host's background triggers. Tests inject their own clock, so a
 * timer due at 02:00 fires when the test moves the clock there, not after hours of waiting.
 */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or as soon as `signal` aborts (it never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
};

/** Node's timers overflow past 2^31-1 ms (24.8 days); a longer wait is taken in steps of at most this. */
const MAX_SLEEP_MS = 2 ** 31 - 1;

/** Sleeps until `clock` reaches `deadline` (in steps, so long waits survive timer limits). */
export async function sleepUntil(clock: Clock, deadline: Date, signal: AbortSignal): Promise<void> {
  for (;;) {
    const remaining = deadline.getTime() - clock.now().getTime();
    if (remaining <= 0 || signal.aborted) return;
    await clock.sleep(Math.min(remaining, MAX_SLEEP_MS), signal);
  }
}
