import { NyxError } from '../../errors.ts';
import type { ActionDriver } from '../driver.ts';

/**
 * The action driver registry. The engine looks drivers up by `type` only and never knows their
 * internals; each driver file registers itself (built-ins are registered by `registerBuiltinDrivers`
 * in ../builtin.ts, tests may register fakes).
 */
/** Params are opaque to the registry: the driver's own parse() produces them and only that driver consumes them. */
export type AnyActionDriver = ActionDriver<unknown>;

const drivers = new Map<string, AnyActionDriver>();

/** Registers (or replaces, e.g. a test fake) the driver for its `type`. */
export function registerActionDriver<P>(driver: ActionDriver<P>): void {
  if (!/^[a-z][a-z0-9_]*$/.test(driver.type)) throw new NyxError(`action driver type "${driver.type}": expected lowercase letters, digits and _`);
  drivers.set(driver.type, driver as AnyActionDriver);
}

/** The driver for a step type, or undefined when none is registered. */
export function actionDriver(type: string): AnyActionDriver | undefined {
  return drivers.get(type);
}

/** Removes a registration (tests restoring the real driver). */
export function unregisterActionDriver(type: string): void {
  drivers.delete(type);
}

export function actionDriverTypes(): string[] {
  return [...drivers.keys()].sort();
}
