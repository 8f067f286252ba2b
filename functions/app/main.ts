import { registerApp } from './register';
import { createAppRoot } from './root';

// The Function App's entry (package.json `main`): the worker loads this file with the app settings in
// the environment.
registerApp(createAppRoot(process.env));
