import { parentPort } from 'node:worker_threads';
import { renderDossierDocx, type DossierDocxInput } from './dossierDocx';

/** A worker thread that renders DOCX files for the DocxRenderer pool (DOCX building is CPU-bound). */
parentPort?.on('message', (message: { id: number; input: DossierDocxInput }) => {
  renderDossierDocx(message.input).then(
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
