// A state the operator must fix (no store, store in use, schema behind, no such room): one line, exit 1.
export class AdminError extends Error {}
