// Keys for the few things components take from context instead of props (used deep in the tree, set once in App).
export const RELOAD_MODEL = Symbol('reload-model');
export type ReloadModel = () => Promise<void>;
