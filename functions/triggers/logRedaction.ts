import { app } from '@azure/functions';
import { redact } from '../platform/runtime';

// Every log line of every function passes through here before it leaves the worker.
app.hook.log((context) => {
  context.message = redact(context.message);
});
