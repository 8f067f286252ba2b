import { parentPort } from 'node:worker_threads';
import { renderDossier, type DossierRenderInput } from './docxRenderer';

/** A worker thread that renders DOCX files for the DocxRenderer pool (building or filling one is CPU-bound). */
parentPort?.on('message', (message: { id: number; input: DossierRenderInput }) => {
  renderDossier(message.input).then(
    (docx) => {
      const bytes = new Uint8Array(docx);
      parentPort?.postMessage({ id: message.id, bytes }, [bytes.buffer]);
    },
    (error: unknown) =>
      parentPort?.postMessage({
        id: message.id,
        error: error instanceof Error ? error.message : String(error),
      }),
  );
});
