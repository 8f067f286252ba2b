import { createAiClient } from '../ai/createAiClient';
import { BatchWorkStore } from '../dossiers/batchStore';
import { batchActivities } from '../dossiers/batchRun';
import { createDocxRenderer } from '../dossiers/docxRenderer';
import { DOSSIER_TASK } from '../dossiers/generatePair';
import { offlineDossier } from '../dossiers/offlineDossier';
import { BlobDossierOutputs } from '../dossiers/outputs';
import { loadSettings } from './config';
import { appCredential } from './identity';
import { createRedactor } from './redact';
import { createStorageClients } from './storage';
import { CONTAINERS } from './storageNames';

/**
 * The composition root: settings are read and validated when the app loads, so an invalid
 * setting stops the app with a SettingsError naming it before any function runs. Everything the
 * triggers hand to the capabilities is built here, once.
 */
export const settings = loadSettings(process.env);
export const redact = createRedactor(settings.secretValues);
export const storage = createStorageClients(settings.storage);

const clientId = settings.storage.kind === 'identity' ? settings.storage.clientId : undefined;
export const ai = createAiClient(settings.ai, {
  storage,
  credential: () => appCredential(clientId),
  offlineGenerators: { [DOSSIER_TASK]: offlineDossier },
});

const renderDocx = createDocxRenderer();
export const dossierWork = new BatchWorkStore(storage.blobs.getContainerClient(CONTAINERS.dossiersWork));
export const dossierActivities = batchActivities({
  work: dossierWork,
  inputs: (container) => storage.blobs.getContainerClient(container),
  outputs: (batchId) =>
    new BlobDossierOutputs(storage.blobs.getContainerClient(CONTAINERS.dossiers), batchId),
  pairDependencies: (outputs) => ({ ai, outputs, renderDocx }),
  templateHash: () => ai.templateHash(DOSSIER_TASK),
});
