import type { DequeuedMessageItem, QueueServiceClient } from '@azure/storage-queue';
import type { Clock } from './clock';
import { MIN_POLLING_INTERVAL_MS, type QueuesOptions } from './hostConfig';

/**
 * Queue triggers as the Functions host runs them (host.json `extensions.queues`): messages received
 * in batches, a success deletes the message, a failure makes it visible again after
 * `visibilityTimeout`, the last of `maxDequeueCount` attempts moves it to `<queue>-poison`; an empty
 * queue is polled less and less often, up to `maxPollingInterval`.
 */

export interface QueueTriggerDefinition {
  functionName: string;
  queueName: string;
}

/** The message as the function receives it. */
export interface ReceivedMessage {
  queueName: string;
  text: string;
  item: DequeuedMessageItem;
}

export interface QueueTriggerRunnerOptions {
  queues: QueueServiceClient;
  triggers: QueueTriggerDefinition[];
  settings: QueuesOptions;
  /** Runs the function; resolves false when it failed (the failure is logged by the caller). */
  run: (functionName: string, message: ReceivedMessage) => Promise<boolean>;
  log: (functionName: string, level: 'warning' | 'error', text: string) => void;
}

/**
 * How long a received message stays invisible while its function runs: the function time limit
 * (10 minutes), so no other poll takes it meanwhile.
 */
const PROCESSING_VISIBILITY_SECONDS = 600;

function decode(messageText: string, encoding: QueuesOptions['messageEncoding']): string | undefined {
  if (encoding === 'none') return messageText;
  const bytes = Buffer.from(messageText, 'base64');
  // Buffer.from ignores what is not base64; a message that does not round-trip was not encoded.
  const canonical = (text: string) => text.replace(/=+$/, '');
  return canonical(bytes.toString('base64')) === canonical(messageText.trim())
    ? bytes.toString('utf8')
    : undefined;
}

export class QueueTriggerRunner {
  private readonly ready = new Map<string, Promise<unknown>>();
  private readonly wake = new Map<string, AbortController>();
  private abort = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(private readonly options: QueueTriggerRunnerOptions) {}

  /** One batch from each queue, processed before it returns; returns how many messages ran. */
  async pollOnce(): Promise<number> {
    let handled = 0;
    for (const trigger of this.options.triggers) {
      const messages = await this.receive(trigger, this.options.settings.batchSize);
      await Promise.all(messages.map((message) => this.process(trigger, message)));
      handled += messages.length;
    }
    return handled;
  }

  /** Polls every queue in the background until `stop()`. */
  start(clock: Clock): void {
    this.abort = new AbortController();
    this.loops = this.options.triggers.map((trigger) => this.loop(trigger, clock, this.abort.signal));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** A message was just written to `queueName` by this host: poll it now rather than after the back-off. */
  notify(queueName: string): void {
    for (const trigger of this.options.triggers)
      if (trigger.queueName === queueName) this.wake.get(trigger.functionName)?.abort();
  }

  private async loop(trigger: QueueTriggerDefinition, clock: Clock, signal: AbortSignal): Promise<void> {
    const { batchSize, newBatchThreshold, maxPollingIntervalMs } = this.options.settings;
    const running = new Set<Promise<void>>();
    let delay = MIN_POLLING_INTERVAL_MS;
    while (!signal.aborted) {
      // New messages are fetched only once the ones in progress drop to the threshold.
      if (running.size > newBatchThreshold) {
        await Promise.race(running);
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        messages = await this.receive(trigger, batchSize);
      } catch (error) {
        this.options.log(
          trigger.functionName,
          'error',
          `Polling ${trigger.queueName} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      for (const message of messages) {
        const done: Promise<void> = this.process(trigger, message)
          .catch((error: unknown) =>
            this.options.log(
              trigger.functionName,
              'error',
              `Completing a message failed: ${error instanceof Error ? error.message : String(error)}`,
            ),
          )
          .finally(() => running.delete(done));
        running.add(done);
      }
      if (messages.length > 0) {
        delay = MIN_POLLING_INTERVAL_MS;
        continue;
      }
      const wake = new AbortController();
      this.wake.set(trigger.functionName, wake);
      await clock.sleep(delay, AbortSignal.any([signal, wake.signal]));
      delay = wake.signal.aborted ? MIN_POLLING_INTERVAL_MS : Math.min(delay * 2, maxPollingIntervalMs);
    }
    await Promise.all(running);
  }

  private async receive(trigger: QueueTriggerDefinition, count: number): Promise<DequeuedMessageItem[]> {
    const queue = this.options.queues.getQueueClient(trigger.queueName);
    let ready = this.ready.get(trigger.queueName);
    if (!ready) {
      ready = queue.createIfNotExists();
      this.ready.set(trigger.queueName, ready);
    }
    await ready;
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: count,
      visibilityTimeout: PROCESSING_VISIBILITY_SECONDS,
    });
    return receivedMessageItems;
  }

  private async process(trigger: QueueTriggerDefinition, item: DequeuedMessageItem): Promise<void> {
    const { maxDequeueCount, visibilityTimeoutMs, messageEncoding } = this.options.settings;
    const queue = this.options.queues.getQueueClient(trigger.queueName);
    // Already past its last attempt (the host stopped during it): straight to the poison queue.
    if (item.dequeueCount > maxDequeueCount) return this.poison(trigger, item, 'it exceeded its attempts');
    const text = decode(item.messageText, messageEncoding);
    if (text === undefined) return this.poison(trigger, item, 'it is not base64-encoded');
    const ok = await this.options.run(trigger.functionName, { queueName: trigger.queueName, text, item });
    if (ok) await queue.deleteMessage(item.messageId, item.popReceipt);
    else if (item.dequeueCount >= maxDequeueCount)
      await this.poison(trigger, item, `it failed ${item.dequeueCount} times`);
    else
      await queue.updateMessage(
        item.messageId,
        item.popReceipt,
        undefined,
        Math.round(visibilityTimeoutMs / 1000),
      );
  }

  private async poison(
    trigger: QueueTriggerDefinition,
    item: DequeuedMessageItem,
    why: string,
  ): Promise<void> {
    const poisonName = `${trigger.queueName}-poison`;
    const poison = this.options.queues.getQueueClient(poisonName);
    await poison.createIfNotExists();
    await poison.sendMessage(item.messageText);
    await this.options.queues
      .getQueueClient(trigger.queueName)
      .deleteMessage(item.messageId, item.popReceipt);
    this.options.log(
      trigger.functionName,
      'warning',
      `Message ${item.messageId} moved to ${poisonName}: ${why}.`,
    );
  }
}
