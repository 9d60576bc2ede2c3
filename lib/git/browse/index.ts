// Reads of a repository's object model that are not on the pack hot path, through isomorphic-git: the room page's
// repository browser and the push notice. Objects come from our own store (see fs.ts), refs from refs.ts.
export { overview, readFile, MAX_COMMITS, MAX_TREE_ENTRIES } from './view.ts'
export type { FileView, RepoOverview } from './view.ts'
export { summarizePush } from './push-summary.ts'
