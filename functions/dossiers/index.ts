import type { AiClient } from '../ai/aiClient';
import type { OfflineGenerator } from '../ai/providers/offlineProvider';
import type { Orchestrations } from '../platform/durable';
import type { StorageClients } from '../platform/storage';
import { CONTAINERS } from '../platform/storageNames';
import { batchActivities, type BatchActivities } from './activities';
import { isBatchFile, isBatchId, startFromInbox, type StartResult } from './batchStart';
import { getBatchProgress } from './batchStatus';
import { BatchWorkStore } from './batchStore';
import { createBatchFromUpload, parseBatchUpload } from './batchUpload';
import { createDocxRenderer, type DocxRenderer } from './docxRenderer';
import { validateTemplate } from './docxTemplate';
import { DOSSIER_TASK, generatePair, type PairDependencies } from './generatePair';
import { offlineDossier } from './offlineDossier';
import { batchOrchestrator, laneOrchestrator } from './orchestration';
import { BlobDossierOutputs, DirectoryDossierOutputs, type DossierOutputStore } from './outputs';
import type { BatchPlan, PlannedPair, PlanOptions } from './plan';
import { runLocalBatch } from './runLocalBatch';
import type { DossierSettings } from './settings';
import { TemplateStore } from './templateStore';

export { DOSSIER_DURABLE, DOSSIER_RUN_PREFIX, batchStatusSchema } from './contracts';
export { describeProblem, type TemplateCheck, type TemplateProblem } from './docxTemplate';
export { dossierSettings, type DossierSettings } from './settings';
export { InvalidTemplateError, type StoredTemplate } from './templateStore';

/** The capability's offline answers, so it runs end to end with no AI key. */
export const DOSSIERS_OFFLINE_GENERATORS: Readonly<Record<string, OfflineGenerator>> = {
  [DOSSIER_TASK]: offlineDossier,
};

export interface DossiersDependencies {
  settings: DossierSettings;
  ai: AiClient;
  /** The Function App's storage; the CLI runs without it (its outputs go to a folder). */
  storage?: StorageClients;
  clock?: () => Date;
  renderDocx?: DocxRenderer;
}

export type InboxResult = StartResult | { started: false; ignored: string };

export interface FolderBatch {
  consultants: { name: string; bytes: Buffer };
  jobs: { name: string; bytes: Buffer };
  outDir: string;
  /** Options left undefined keep the DOSSIERS_* settings. */
  options?: { [K in Exclude<keyof PlanOptions, 'template'>]?: PlanOptions[K] | undefined };
  /** A DOCX template file (`--template`); the built-in layout without one. */
  template?: { name: string; bytes: Uint8Array } | undefined;
  concurrency?: number | undefined;
  onProgress?: (done: number, total: number, failed: number) => void;
}

/** Dossiers de compétences: one tailored dossier per (consultant, job posting) pair, in batches. */
export function createDossiers(deps: DossiersDependencies) {
  const clock = deps.clock ?? (() => new Date());
  const { settings, ai } = deps;
  let renderer = deps.renderDocx;
  const renderDocx: DocxRenderer = (input) => (renderer ??= createDocxRenderer())(input);
  const defaults: PlanOptions = {
    topK: settings.topK,
    minScore: settings.minScore,
    language: settings.language,
    regenerateUngrounded: settings.regenerateUngrounded,
  };
  const container = (name: string) => {
    if (!deps.storage) throw new Error('Dossier batches in storage need the app storage.');
    return deps.storage.blobs.getContainerClient(name);
  };
  let workStore: BatchWorkStore | undefined;
  const work = () => (workStore ??= new BatchWorkStore(container(CONTAINERS.dossiersWork)));
  const templates = () => new TemplateStore(container(CONTAINERS.dossiersTemplates));
  const blobOutputs = (batchId: string) => new BlobDossierOutputs(container(CONTAINERS.dossiers), batchId);
  let activities: BatchActivities | undefined;
  const startDeps = (orchestrations: Orchestrations) => ({
    work: work(),
    templates: templates(),
    orchestrations,
    clock,
  });
  const pairDependencies = (outputs: DossierOutputStore): PairDependencies => ({
    ai,
    outputs,
    renderDocx,
    templateBytes: (batchId, template) => work().loadTemplate(batchId, template.sha256),
    now: clock,
  });

  return {
    offlineGenerators: DOSSIERS_OFFLINE_GENERATORS,
    orchestrators: { batch: batchOrchestrator, lane: laneOrchestrator },
    /** The batch's activities (they need the app storage, so they are built on first use). */
    get activities(): BatchActivities {
      return (activities ??= batchActivities({
        work: work(),
        inputs: container,
        outputs: blobOutputs,
        pairDependencies,
        templateHash: () => ai.templateHash(DOSSIER_TASK),
        clock,
      }));
    },

    /** A file arrived in `dossiers-inbox/{batchId}/`: starts the batch once both files are there. */
    startBatchFromInbox: (
      batchId: string,
      fileName: string,
      orchestrations: Orchestrations,
    ): Promise<InboxResult> => {
      if (!isBatchId(batchId) || !isBatchFile(fileName)) {
        return Promise.resolve({
          started: false,
          ignored: `${CONTAINERS.dossiersInbox}/${batchId}/${fileName}: not a batch file (consultants.csv, jobs.csv).`,
        });
      }
      return startFromInbox(
        container(CONTAINERS.dossiersInbox),
        batchId,
        defaults,
        settings.template,
        settings.concurrency,
        startDeps(orchestrations),
      );
    },

    /** `POST /api/dossiers/batches`: JSON or multipart with both CSV files. */
    createBatchFromUpload: async (body: Buffer, contentType: string, orchestrations: Orchestrations) =>
      createBatchFromUpload(
        await parseBatchUpload(body, contentType),
        container(CONTAINERS.dossiersUploads),
        defaults,
        settings.template,
        settings.concurrency,
        startDeps(orchestrations),
      ),

    /** `POST /api/dossiers/templates`: checks a DOCX template and stores it under its name. */
    saveTemplate: (name: string, bytes: Uint8Array) => templates().save(name, bytes),

    /** A template's tags and problems, each with its place (the CLI checks `--template` with it). */
    checkTemplate: validateTemplate,

    /** `GET /api/dossiers/batches/{batchId}`. */
    getBatchProgress: (batchId: string, orchestrations: Orchestrations) =>
      getBatchProgress(batchId, startDeps(orchestrations)),

    /** The latest run of a batch (its orchestration instance), if it was started. */
    latestRun: (batchId: string) => work().latestRun(batchId),

    /** The whole pipeline in this process, outputs in a folder: the CLI. */
    runBatchInFolder: (batch: FolderBatch) =>
      runLocalBatch({
        batchId: batch.outDir.split(/[\\/]/).filter(Boolean).pop() ?? 'batch',
        consultants: batch.consultants,
        jobs: batch.jobs,
        options: {
          topK: batch.options?.topK ?? defaults.topK,
          minScore: batch.options?.minScore ?? defaults.minScore,
          language: batch.options?.language ?? defaults.language,
          regenerateUngrounded: batch.options?.regenerateUngrounded ?? defaults.regenerateUngrounded,
        },
        template: batch.template,
        concurrency: batch.concurrency ?? settings.concurrency,
        ai,
        outputs: new DirectoryDossierOutputs(batch.outDir),
        renderDocx,
        onProgress: batch.onProgress,
        now: clock,
      }),

    /** One pair, for the benchmark's baseline that replays the seed's chunked strategy. */
    generatePair: (
      plan: BatchPlan,
      pair: PlannedPair,
      outputs: DossierOutputStore = blobOutputs(plan.batchId),
    ) => generatePair(plan, pair, pairDependencies(outputs)),

    templateHash: () => ai.templateHash(DOSSIER_TASK),
    defaults,
  };
}

export type Dossiers = ReturnType<typeof createDossiers>;
