// The controller's commands as the CLI sees them: their flags and help, without loading what runs them.
export { CONTROLLER_COMMAND } from './config/controller-config.js';
export { PURGE_COMMAND } from './config/purge-config.js';
export { REINDEX_COMMAND } from './config/reindex-config.js';
export { SEARCH_COMMAND } from './config/search-config.js';
export { SYNC_COMMAND } from './config/sync-config.js';
