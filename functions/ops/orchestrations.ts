import { RetryOptions, type OrchestrationContext } from 'durable-functions';
import { callActivity } from '../platform/durable';
import { OPS_DURABLE, type DocumentOutcome, type RunInput } from './contracts';

// A provider blip is retried at once (three tries within about 6 s); a longer outage leaves the alert
// pending, and the next health run (every 15 minutes) sends it.
const ALERT_RETRY = Object.assign(new RetryOptions(2_000, 3), { backoffCoefficient: 2 });

// Storage blips should not fail a maintenance step that takes minutes.
const STEP_RETRY = Object.assign(new RetryOptions(5_000, 3), { backoffCoefficient: 2 });

export function* healthOrchestrator(context: OrchestrationContext, _input: RunInput<'health'>) {
  const runId = context.df.instanceId;
  context.df.setCustomStatus({ step: 'checking' });
  const report = yield* callActivity(context, OPS_DURABLE.checkHealth, { runId });
  context.df.setCustomStatus({ step: 'recording', score: report.score, status: report.status });
  const alert = yield* callActivity(context, OPS_DURABLE.recordHealth, { runId, report });
  if (alert) {
    context.df.setCustomStatus({ step: 'alerting', score: report.score, status: report.status });
    try {
      yield* callActivity(context, OPS_DURABLE.sendAlert, { runId, alert }, ALERT_RETRY);
    } catch {
      // Still pending in the alert state: the next run sends it. The run itself has done its job.
    }
  }
  context.df.setCustomStatus({ step: 'done', score: report.score, status: report.status });
  return { ...report, alert };
}

export function* maintenanceOrchestrator(context: OrchestrationContext, input: RunInput<'maintenance'>) {
  const runId = context.df.instanceId;
  const { olderThanDays, dryRun, backupTables } = input.parameters;
  // Backed up first: a purge or sweep never runs on data that failed to back up.
  context.df.setCustomStatus({ step: 'backup' });
  const backup = backupTables
    ? yield* callActivity(context, OPS_DURABLE.backupTables, { runId, dryRun }, STEP_RETRY)
    : null;
  context.df.setCustomStatus({ step: 'purge-history' });
  const history = yield* callActivity(
    context,
    OPS_DURABLE.purgeHistory,
    { runId, olderThanDays, dryRun },
    STEP_RETRY,
  );
  context.df.setCustomStatus({ step: 'sweep' });
  const swept = yield* callActivity(context, OPS_DURABLE.sweepBlobs, { runId, dryRun }, STEP_RETRY);
  context.df.setCustomStatus({ step: 'done' });
  return { dryRun, olderThanDays, history, backup, ...swept };
}

export function* smokeOrchestrator(context: OrchestrationContext, input: RunInput<'smoke'>) {
  const runId = context.df.instanceId;
  // Each test is its own activity, so the timeline shows each one's time; they never throw.
  const tasks = input.parameters.tests.map((test) =>
    context.df.callActivity(OPS_DURABLE.smokeTest.name, { runId, test }),
  );
  const raw = (yield context.df.Task.all(tasks)) as unknown[];
  const results = raw.map((r) => OPS_DURABLE.smokeTest.output.parse(r));
  const count = (outcome: string) => results.filter((r) => r.outcome === outcome).length;
  return { passed: count('pass'), failed: count('fail'), skipped: count('skipped'), results };
}

/** One lane of a documents run: its files extracted and summarised one after the other. */
export function* documentsLaneOrchestrator(
  context: OrchestrationContext,
  input: { runId: string; batchId: string; names: string[] },
) {
  const outcomes: DocumentOutcome[] = [];
  for (const name of input.names) {
    outcomes.push(
      yield* callActivity(context, OPS_DURABLE.processDocument, {
        runId: input.runId,
        batchId: input.batchId,
        name,
      }),
    );
  }
  return outcomes;
}

/**
 * Lists the batch's files (those already summarised from the same bytes are kept), then extracts and
 * summarises the others with at most `concurrency` in flight. A file that fails is reported as failed;
 * the batch goes on. Files dropped while it runs are picked up by listing again before it ends.
 */
export function* documentsOrchestrator(
  context: OrchestrationContext,
  input: RunInput<'documents'>,
  concurrency: number,
) {
  const runId = context.df.instanceId;
  const { batchId } = input.parameters;
  const outcomes = new Map<string, DocumentOutcome>();
  let listedAt = '';
  for (let round = 0; round < 20; round++) {
    listedAt = context.df.currentUtcDateTime.toISOString();
    const listed = yield* callActivity(context, OPS_DURABLE.listDocuments, { runId, batchId });
    for (const kept of listed.unchanged) if (!outcomes.has(kept.name)) outcomes.set(kept.name, kept);
    const todo = listed.todo.filter((file) => !outcomes.has(file.name) || round === 0);
    if (todo.length === 0) break;
    // `concurrency` lanes, each reading its files one after the other: a lane starts its next file as soon
    // as one ends. (A sliding window over Task.any would schedule the tasks again: durable-js#574.)
    const lanes = Array.from({ length: Math.min(concurrency, todo.length) }, (_, lane) =>
      todo.filter((_file, index) => index % concurrency === lane).map((file) => file.name),
    );
    context.df.setCustomStatus({ step: 'summarising', files: todo.length, lanes: lanes.length });
    const results = (yield context.df.Task.all(
      lanes.map((names, lane) =>
        context.df.callSubOrchestrator(
          OPS_DURABLE.documentsLane.name,
          { runId, batchId, names },
          `${runId}:round-${round}-lane-${lane}`,
        ),
      ),
    )) as unknown[];
    for (const result of results) {
      for (const outcome of OPS_DURABLE.documentsLane.output.parse(result))
        outcomes.set(outcome.name, outcome);
    }
  }
  const files = [...outcomes.values()].sort((a, b) => a.name.localeCompare(b.name));
  const count = (outcome: DocumentOutcome['outcome']) => files.filter((f) => f.outcome === outcome).length;
  const report = {
    batchId,
    done: count('done'),
    failed: count('failed'),
    unchanged: count('unchanged'),
    listedAt,
    files,
  };
  yield* callActivity(context, OPS_DURABLE.documentsReport, { runId, report });
  context.df.setCustomStatus({ step: 'done', done: report.done, failed: report.failed });
  return report;
}
