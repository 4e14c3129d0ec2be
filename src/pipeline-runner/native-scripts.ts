/**
 * Native stand-ins for `script` processors. Painless cannot run in process, so a pipeline's
 * script processor runs here only when TypeScript code is registered under the script's `tag`.
 */
export type NativeScript = (ctx: Record<string, unknown>, params: Readonly<Record<string, unknown>>) => void;

const scripts = new Map<string, NativeScript>();

/** Registers (or replaces) the implementation for script processors tagged `tag`. */
export function registerNativeScript(tag: string, fn: NativeScript): void {
  if (tag.length === 0) throw new TypeError('a native script needs a non-empty tag');
  scripts.set(tag, fn);
}

export function nativeScript(tag: string): NativeScript | undefined {
  return scripts.get(tag);
}
