export { LeaseStore, LEASE_INDEX, type Lease } from './leases.ts';
export { StateStore, STATE_INDEX } from './state.ts';
