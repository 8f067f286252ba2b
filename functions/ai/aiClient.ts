import { createHash } from 'node:crypto';
import { AI_CALL_BUDGET_MS, type AiProviderName } from './settings';
import { Semaphore } from '../platform/semaphore';
import { backoffDelay } from './backoff';
import type { ResponseCache } from './cache';
import { AiCallError, AiOutputBlockedError, AiUnavailableError, classifyProviderError } from './errors';
import { Pacer } from './pacer';
import { costUsd, type PriceTable } from './prices';
import { estimateTokens } from './providers/offlineProvider';
import { findBlockedTerm, redactSensitive, type RedactionCounts } from './sensitive';
import type { PromptTemplate, TemplateLibrary } from './templates';
import type { ChatMessage, ChatProvider, ProviderAnswer } from './types';
import { countRedactions, type UsageRecord, type UsageStore } from './usage';

export interface AiRequest {
  /** The task names its prompt template (`prompts/<task>.json`). */
  task: string;
  variables: Readonly<Record<string, unknown>>;
  /** Overrides of the template's settings (a stricter retry may lower the temperature). */
  maxTokens?: number;
  temperature?: number;
}

export interface AiResult {
  text: string;
  provider: AiProviderName;
  model: string;
  cached: boolean;
  attempts: number;
  usage: { promptTokens: number; completionTokens: number; costUsd: number };
  redactions: RedactionCounts;
}

export interface AiClientOptions {
  /** The primary provider first, then the fallbacks in order. */
  providers: ChatProvider[];
  templates: TemplateLibrary;
  usage: UsageStore;
  cache: ResponseCache | undefined;
  cacheTtlMs: number;
  prices: PriceTable;
  outputBlocklist: readonly string[];
  rpm: number | undefined;
  tpm: number | undefined;
  maxConcurrency: number;
  timeoutMs: number;
  maxRetries: number;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface ProviderLane {
  provider: ChatProvider;
  pacer: Pacer | undefined;
  slots: Semaphore;
}

/**
 * The one way the suite talks to a language model. A request renders its task's template, removes the
 * personal data the template lists, answers from the cache when it can, and otherwise calls the primary
 * provider, paced under the quota, with a per-attempt timeout and retries with backoff on 429, 5xx,
 * timeouts and connection errors; when those run out it falls back to the next provider. Every request
 * is recorded with its tokens and cost.
 */
export class AiClient {
  private readonly lanes: ProviderLane[];
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AiClientOptions) {
    if (options.providers.length === 0) throw new Error('The AI client needs at least one provider.');
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    // Each remote provider has its own deployment, so its own quota and its own in-flight limit.
    this.lanes = options.providers.map((provider) => ({
      provider,
      pacer: provider.remote
        ? new Pacer({ rpm: options.rpm, tpm: options.tpm, now: this.now, sleep: this.sleep })
        : undefined,
      slots: new Semaphore(options.maxConcurrency),
    }));
  }

  /** The content hash of a task's prompt template: outputs made with another one are stale. */
  templateHash(task: string): string {
    return this.options.templates.get(task).hash;
  }

  get primary(): ChatProvider {
    return this.lanes[0]?.provider as ChatProvider;
  }

  async complete(request: AiRequest): Promise<AiResult> {
    const started = this.now();
    const deadline = started + AI_CALL_BUDGET_MS;
    const template = this.options.templates.get(request.task);
    const { messages, counts } = this.prepare(template, request);
    const maxTokens = request.maxTokens ?? template.maxTokens;
    const temperature = request.temperature ?? template.temperature;
    const failures: AiUnavailableError['failures'] = [];
    const base = {
      task: request.task,
      templateId: template.id,
      templateHash: template.hash,
      redactions: countRedactions(counts),
    };

    for (const lane of this.lanes) {
      const { provider } = lane;
      const key = cacheKey(provider, template, messages, maxTokens, temperature);
      const fallbackFrom = lane === this.lanes[0] ? undefined : this.primary.name;
      const record = (fields: Partial<UsageRecord> & Pick<UsageRecord, 'outcome'>) =>
        this.options.usage.record({
          ...base,
          at: new Date(this.now()).toISOString(),
          provider: provider.name,
          model: provider.model,
          cacheHit: false,
          attempts: 0,
          promptTokens: 0,
          completionTokens: 0,
          costUsd: 0,
          latencyMs: this.now() - started,
          ...(fallbackFrom ? { fallbackFrom } : {}),
          ...fields,
        });

      // Only remote answers are worth caching: the offline generator is cheaper than a cache lookup.
      const cacheable = provider.remote && this.options.cacheTtlMs > 0;
      const cached = cacheable ? await this.options.cache?.get(key) : undefined;
      if (cached) {
        await record({ outcome: 'ok', cacheHit: true, model: cached.model });
        return this.result(provider, cached, true, 0, 0, counts);
      }

      let answer: ProviderAnswer;
      let attempts: number;
      try {
        ({ answer, attempts } = await this.callWithRetries(
          lane,
          request.task,
          messages,
          maxTokens,
          temperature,
          request.variables,
          deadline,
        ));
      } catch (error) {
        const failure = error instanceof AiCallError ? error : classifyProviderError(error, false);
        failures.push({ provider: provider.name, kind: failure.kind, message: failure.message });
        await record({
          outcome: 'failed',
          attempts: failure instanceof RetriesExhausted ? failure.attempts : 1,
        });
        continue;
      }

      const cost = costUsd(this.options.prices, answer.model, answer.promptTokens, answer.completionTokens);
      const usage = {
        promptTokens: answer.promptTokens,
        completionTokens: answer.completionTokens,
        costUsd: cost,
      };
      const blocked = findBlockedTerm(answer.text, this.options.outputBlocklist);
      if (blocked) {
        await record({ outcome: 'blocked', attempts, model: answer.model, ...usage });
        throw new AiOutputBlockedError(request.task, blocked);
      }
      if (cacheable) await this.options.cache?.set(key, answer, this.options.cacheTtlMs);
      await record({ outcome: 'ok', attempts, model: answer.model, ...usage });
      return this.result(provider, answer, false, attempts, cost, counts);
    }
    throw new AiUnavailableError(request.task, failures);
  }

  private prepare(
    template: PromptTemplate,
    request: AiRequest,
  ): { messages: ChatMessage[]; counts: RedactionCounts } {
    const counts: RedactionCounts = { email: 0, phone: 0, iban: 0, nir: 0 };
    const messages = template.render(request.variables).map((message) => {
      const redacted = redactSensitive(message.content, template.redact);
      for (const kind of Object.keys(counts) as (keyof RedactionCounts)[])
        counts[kind] += redacted.counts[kind];
      return { ...message, content: redacted.text };
    });
    return { messages, counts };
  }

  private async callWithRetries(
    lane: ProviderLane,
    task: string,
    messages: ChatMessage[],
    maxTokens: number,
    temperature: number,
    variables: Readonly<Record<string, unknown>>,
    deadline: number,
  ): Promise<{ answer: ProviderAnswer; attempts: number }> {
    const estimate = estimateTokens(messages.map((m) => m.content).join('\n')) + maxTokens;
    const maxAttempts = this.options.maxRetries + 1;
    let last: AiCallError | undefined;
    let attempt = 1;
    for (; attempt <= maxAttempts; attempt++) {
      try {
        const answer = await lane.slots.run(async () => {
          await lane.pacer?.acquire(estimate, deadline);
          return this.attempt(lane.provider, { task, messages, maxTokens, temperature, variables });
        });
        return { answer, attempts: attempt };
      } catch (error) {
        last = error instanceof AiCallError ? error : classifyProviderError(error, false);
        if (!last.retryable || attempt === maxAttempts) break;
        if (last.kind === 'rate_limited') {
          // The whole lane waits, not only this call: no request leaves before the retry-after.
          lane.pacer?.pauseFor(last.retryAfterMs ?? backoffDelay(attempt, this.random));
        } else {
          const delay = backoffDelay(attempt, this.random);
          if (this.now() + delay > deadline) break;
          await this.sleep(delay);
        }
      }
    }
    throw new RetriesExhausted(
      last ?? new AiCallError('connection', 'no attempt was made'),
      Math.min(attempt, maxAttempts),
    );
  }

  private async attempt(
    provider: ChatProvider,
    call: Omit<Parameters<ChatProvider['complete']>[0], 'signal'>,
  ): Promise<ProviderAnswer> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    try {
      return await provider.complete({ ...call, signal: controller.signal });
    } catch (error) {
      throw classifyProviderError(error, timedOut);
    } finally {
      clearTimeout(timer);
    }
  }

  private result(
    provider: ChatProvider,
    answer: ProviderAnswer,
    cached: boolean,
    attempts: number,
    cost: number,
    redactions: RedactionCounts,
  ): AiResult {
    return {
      text: answer.text,
      provider: provider.name,
      model: answer.model,
      cached,
      attempts,
      // A cache hit spent no tokens in this run.
      usage: cached
        ? { promptTokens: 0, completionTokens: 0, costUsd: 0 }
        : { promptTokens: answer.promptTokens, completionTokens: answer.completionTokens, costUsd: cost },
      redactions,
    };
  }
}

class RetriesExhausted extends AiCallError {
  constructor(
    last: AiCallError,
    readonly attempts: number,
  ) {
    super(last.kind, last.message, last.status, last.retryAfterMs);
  }
}

function cacheKey(
  provider: ChatProvider,
  template: PromptTemplate,
  messages: ChatMessage[],
  maxTokens: number,
  temperature: number,
): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        provider.name,
        provider.model,
        template.id,
        template.hash,
        messages,
        maxTokens,
        temperature,
      ]),
    )
    .digest('hex');
}
