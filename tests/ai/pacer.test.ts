import { describe, expect, it } from 'vitest';
import { Pacer } from '../../functions/ai/pacer';

/** A clock that only moves when the pacer sleeps, so timings are exact. */
function fakeClock() {
  let now = 0;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) =>
      setImmediate(() => {
        now += ms;
        resolve();
      }),
    );
  return { now: () => now, sleep };
}

async function grantTimes(pacer: Pacer, clock: { now: () => number }, costs: number[]): Promise<number[]> {
  const times: number[] = [];
  await Promise.all(costs.map((cost) => pacer.acquire(cost).then(() => times.push(clock.now()))));
  return times;
}

describe('Pacer', () => {
  it('spaces requests evenly under the RPM, with no burst', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ rpm: 60, ...clock });
    expect(await grantTimes(pacer, clock, [1, 1, 1, 1])).toEqual([0, 1000, 2000, 3000]);
  });

  it('paces on estimated tokens under the TPM, allowing half a second of burst', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ tpm: 60_000, ...clock }); // 1,000 tokens a second, 500 of burst
    expect(await grantTimes(pacer, clock, [500, 500, 500])).toEqual([0, 500, 1000]);
  });

  it('lets a call larger than the burst through once the bucket is full, then makes the next ones wait', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ tpm: 60_000, ...clock });
    expect(await grantTimes(pacer, clock, [2000, 500])).toEqual([0, 2000]);
  });

  it('holds every caller after a 429 until the retry-after has elapsed, capped', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ maxPauseMs: 5000, ...clock });
    pacer.pauseFor(1500);
    expect(await grantTimes(pacer, clock, [1, 1])).toEqual([1500, 1500]);
    pacer.pauseFor(60_000);
    expect(await grantTimes(pacer, clock, [1])).toEqual([6500]);
  });

  it('refuses a call the quota cannot fit before its deadline', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ rpm: 60, ...clock });
    await pacer.acquire(1);
    await expect(pacer.acquire(1, 500)).rejects.toThrow(/no room before the call deadline/);
  });
});
