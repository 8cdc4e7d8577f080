/**
 * Target (a): a bare `ws` room broadcast server. Each post gets a seq and is
 * pushed to the room's members at once: the limit of one Node process on
 * this workload, with nothing stored.
 */
import { RoomServer, serve } from './room-server';

await serve(new RoomServer({ broadcastAfterPersist: false }));
